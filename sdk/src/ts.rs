//! TypeScript declarations of the wire types, generated with ts-rs from the serde types of
//! [`protocol`](crate::protocol), [`counsel`](crate::counsel) and [`model`](crate::model): the
//! npm package's `pkg/types/protocol.d.ts`. `cargo xtask types` writes that file; `cargo xtask
//! test` fails while it differs from what these types generate.
//!
//! JSON numbers stay `number` (`u64` fields hold milliseconds, sizes and `seq`s, all far below
//! 2^53); fields serde skips when empty are optional (`field?: T`).

use std::any::TypeId;
use std::collections::HashSet;

use ts_rs::{Config, TS, TypeVisitor};

use crate::counsel::*;
use crate::protocol::*;

const HEADER: &str = "\
// Generated from the Rust wire types (sdk/src/protocol.rs, counsel.rs, model.rs) by
// `cargo xtask types`. Do not edit: change the Rust types and run it again; `cargo xtask test`
// fails while this file differs from what they generate.
";

/// The whole `protocol.d.ts`: each root type, then the types it uses that were not written yet
/// (by name: ts-rs visits them in no fixed order).
pub fn declarations() -> String {
    let mut w = Writer { cfg: Config::new().with_large_int("number"), seen: HashSet::new(), found: Vec::new() };
    let mut out = HEADER.to_string();
    let mut root = |visit: fn(&mut Writer)| {
        visit(&mut w);
        if let Some((_, rest)) = w.found.split_first_mut() {
            rest.sort();
        }
        for (_, decl) in w.found.drain(..) {
            out.push('\n');
            out.push_str(&decl);
        }
    };
    // Sockets and the launcher's frame bridge.
    root(Writer::visit::<VisitorCommand>);
    root(Writer::visit::<VisitorEvent>);
    root(Writer::visit::<AgentCommand>);
    root(Writer::visit::<AgentEvent>);
    root(Writer::visit::<FrameMessage>);
    // Visitor HTTP.
    root(Writer::visit::<LaunchResponse>);
    root(Writer::visit::<ErrorBody>);
    // Admin HTTP.
    root(Writer::visit::<ChannelSummary>);
    root(Writer::visit::<CannedEdit>);
    root(Writer::visit::<AgentAccountInfo>);
    root(Writer::visit::<AgentUpdate>);
    root(Writer::visit::<AgentCreate>);
    root(Writer::visit::<CannedList>);
    root(Writer::visit::<ChannelHours>);
    root(Writer::visit::<ChannelGuidance>);
    root(Writer::visit::<ChannelMenu>);
    // Counsel API bodies and webhook payloads.
    root(Writer::visit::<ApiKeyList>);
    root(Writer::visit::<CreateApiKey>);
    root(Writer::visit::<CreatedApiKey>);
    root(Writer::visit::<SessionPage>);
    root(Writer::visit::<SessionDetail>);
    root(Writer::visit::<MessagePage>);
    root(Writer::visit::<SendMessage>);
    root(Writer::visit::<SendResult>);
    root(Writer::visit::<AssignRequest>);
    root(Writer::visit::<HandoverRequest>);
    root(Writer::visit::<BlockRequest>);
    root(Writer::visit::<UnblockRequest>);
    root(Writer::visit::<ReadRequest>);
    root(Writer::visit::<CloseRequest>);
    root(Writer::visit::<ChannelSwitch>);
    root(Writer::visit::<ActionResult>);
    root(Writer::visit::<UploadResult>);
    root(Writer::visit::<WebhookList>);
    root(Writer::visit::<CreateWebhook>);
    root(Writer::visit::<CreatedWebhook>);
    root(Writer::visit::<DeliveryList>);
    root(Writer::visit::<ReplayResult>);
    root(Writer::visit::<WebhookPayload>);
    out
}

/// Collects the declarations of a type and of every type it uses, once each.
struct Writer {
    cfg: Config,
    seen: HashSet<TypeId>,
    /// (name, declaration), in the order met.
    found: Vec<(String, String)>,
}

impl TypeVisitor for Writer {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and containers have no declaration of their own.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let decl = format!("{}export {}\n", T::docs().unwrap_or_default(), T::decl(&self.cfg));
        self.found.push((T::name(&self.cfg), decl));
        T::visit_dependencies(self);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_type_once_and_numbers_as_numbers() {
        let text = super::declarations();
        let names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("export type ")?.split(' ').next()).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a type declared twice: {names:?}");
        for name in ["VisitorCommand", "VisitorEvent", "AgentCommand", "AgentEvent", "FrameMessage", "ChatMessage", "WebhookPayload"] {
            assert!(names.contains(&name), "{name} missing");
        }
        // u64 fields (seq, at_ms, sizes) are JSON numbers, never bigints.
        assert!(!text.contains("bigint"));
        assert!(text.contains("seq: number"));
    }
}
