//! The visitor session client, sans I/O: what to send on the socket, which stored messages to show
//! and in what order, what is still waiting for an acknowledgement.
//!
//! Guarantees the chat view relies on:
//! - messages are delivered in `seq` order, each exactly once, across any number of reconnects
//!   (duplicates are dropped; a message that arrives ahead of a gap waits for the gap);
//! - every send keeps its client id until it is acknowledged, so a send made offline or lost with a
//!   dropped socket goes out again after reconnecting and the gateway stores it once;
//! - a reconnect says `hello { after_seq }` with the last delivered `seq`, so the gap is filled.


use consult_sdk::protocol::{Body, ChatMessage, ErrorBody, PROTOCOL_VERSION, VisitorCommand, VisitorEvent};

/// First reconnect delay.
pub const RECONNECT_BASE_MS: u32 = 500;
/// Longest reconnect delay.
pub const RECONNECT_MAX_MS: u32 = 30_000;

/// What the session client asks its owner to do or show.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOutput {
    /// Write this command on the socket.
    Transmit(VisitorCommand),
    /// Show this stored message (in order, once).
    Deliver(ChatMessage),
    /// A send with this client id was stored under `seq`.
    Confirmed {
        /// The send's client id.
        client_id: String,
        /// Its sequence number.
        seq: u64,
    },
    /// A send was refused for good.
    Rejected {
        /// The send's client id.
        client_id: String,
        /// Why.
        error: ErrorBody,
    },
    /// Any other event (welcome, state, typing, handoff, handed off, errors without a send).
    Event(VisitorEvent),
}

/// A send not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
struct PendingSend {
    client_id: String,
    command: VisitorCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No socket.
    Down,
    /// Socket open, `hello` sent, waiting for `welcome`.
    Greeting,
    /// Welcomed: sends go out at once.
    Up,
}

/// The session client.
#[derive(Debug, Clone)]
pub struct SessionClient {
    client_id_prefix: String,
    next_client_number: u64,
    last_seq: u64,
    /// Messages that arrived ahead of a gap, in no order (a handful at most: a Vec keeps
    /// BTreeMap's code out of the wasm).
    early: Vec<ChatMessage>,
    pending: Vec<PendingSend>,
    link: Link,
    failed_connects: u32,
}

impl SessionClient {
    /// A client that has seen messages up to `after_seq` (0 for none). `client_id_prefix` must be
    /// unique per page load (random), so ids never collide with an earlier load's.
    pub fn new(client_id_prefix: impl Into<String>, after_seq: u64) -> SessionClient {
        SessionClient {
            client_id_prefix: client_id_prefix.into(),
            next_client_number: 1,
            last_seq: after_seq,
            early: Vec::new(),
            pending: Vec::new(),
            link: Link::Down,
            failed_connects: 0,
        }
    }

    /// Highest `seq` delivered in order.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// True once the gateway welcomed this connection.
    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    /// Client ids of sends not yet acknowledged, oldest first.
    pub fn pending_ids(&self) -> impl Iterator<Item = &str> {
        self.pending.iter().map(|p| p.client_id.as_str())
    }

    /// The socket opened: greet with the session handle and the last `seq` seen.
    pub fn opened(&mut self, session: &str) -> Vec<SessionOutput> {
        self.link = Link::Greeting;
        vec![SessionOutput::Transmit(VisitorCommand::Hello { version: PROTOCOL_VERSION, session: session.into(), after_seq: self.last_seq })]
    }

    /// The socket closed (or failed to open). Returns the delay before the next attempt.
    pub fn closed(&mut self) -> u32 {
        if self.link != Link::Up {
            self.failed_connects = self.failed_connects.saturating_add(1);
        } else {
            self.failed_connects = 1;
        }
        self.link = Link::Down;
        reconnect_delay_ms(self.failed_connects)
    }

    /// Connection attempts in a row that never got a `welcome`.
    pub fn failed_connects(&self) -> u32 {
        if self.link == Link::Up { 0 } else { self.failed_connects }
    }

    /// Sends a message. Returns its client id; the command goes out now when connected, else on
    /// the next `welcome`.
    pub fn send(&mut self, body: Body) -> (String, Vec<SessionOutput>) {
        let client_id = self.next_client_id();
        let command = VisitorCommand::Send { client_id: client_id.clone(), body };
        let out = self.queue(client_id.clone(), command);
        (client_id, out)
    }

    /// Picks a bot menu option, with the same delivery guarantee as a send.
    pub fn choose(&mut self, option: String) -> (String, Vec<SessionOutput>) {
        let client_id = self.next_client_id();
        let command = VisitorCommand::Choose { client_id: client_id.clone(), option };
        let out = self.queue(client_id.clone(), command);
        (client_id, out)
    }

    /// A command that only makes sense now (typing, read, handoff, leave): sent when connected,
    /// dropped otherwise.
    pub fn transient(&self, command: VisitorCommand) -> Vec<SessionOutput> {
        if self.link == Link::Up { vec![SessionOutput::Transmit(command)] } else { Vec::new() }
    }

    /// Handles one event from the gateway.
    pub fn receive(&mut self, event: VisitorEvent) -> Vec<SessionOutput> {
        let mut out = Vec::new();
        match event {
            VisitorEvent::Welcome { .. } => {
                self.link = Link::Up;
                self.failed_connects = 0;
                out.push(SessionOutput::Event(event));
                // Everything unacknowledged goes (again) on the new connection, oldest first.
                for p in &self.pending {
                    out.push(SessionOutput::Transmit(p.command.clone()));
                }
            }
            VisitorEvent::Message { message } => {
                if let Some(id) = &message.client_id {
                    self.confirm(id, message.seq, &mut out);
                }
                if message.seq <= self.last_seq {
                    return out; // already shown: a replay after reconnect
                }
                self.early.retain(|m| m.seq != message.seq);
                self.early.push(message);
                while let Some(i) = self.early.iter().position(|m| m.seq == self.last_seq + 1) {
                    let next = self.early.swap_remove(i);
                    self.last_seq = next.seq;
                    out.push(SessionOutput::Deliver(next));
                }
            }
            VisitorEvent::Ack { client_id, seq } => self.confirm(&client_id, seq, &mut out),
            VisitorEvent::Error { client_id: Some(client_id), code, message } => {
                if let Some(i) = self.pending.iter().position(|p| p.client_id == client_id) {
                    self.pending.remove(i);
                    out.push(SessionOutput::Rejected { client_id, error: ErrorBody { code, message } });
                }
            }
            other => out.push(SessionOutput::Event(other)),
        }
        out
    }

    fn confirm(&mut self, client_id: &str, seq: u64, out: &mut Vec<SessionOutput>) {
        if let Some(i) = self.pending.iter().position(|p| p.client_id == client_id) {
            self.pending.remove(i);
            out.push(SessionOutput::Confirmed { client_id: client_id.to_string(), seq });
        }
    }

    fn queue(&mut self, client_id: String, command: VisitorCommand) -> Vec<SessionOutput> {
        let up = self.link == Link::Up;
        self.pending.push(PendingSend { client_id, command: command.clone() });
        if up { vec![SessionOutput::Transmit(command)] } else { Vec::new() }
    }

    fn next_client_id(&mut self) -> String {
        let mut id = crate::text::cat(&[&self.client_id_prefix, "-"]);
        crate::text::push_u64(&mut id, self.next_client_number);
        self.next_client_number += 1;
        id
    }
}

/// Exponential backoff: 0.5 s, 1 s, 2 s … capped at 30 s. The caller adds jitter.
pub fn reconnect_delay_ms(attempt: u32) -> u32 {
    let doublings = attempt.saturating_sub(1).min(16);
    RECONNECT_BASE_MS.saturating_mul(1 << doublings).min(RECONNECT_MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_sdk::protocol::{Sender, SessionState};

    fn text(t: &str) -> Body {
        Body::Text { text: t.into() }
    }

    fn msg(seq: u64, client_id: Option<&str>) -> VisitorEvent {
        VisitorEvent::Message {
            message: ChatMessage {
                seq,
                sender: if client_id.is_some() { Sender::Visitor } else { Sender::Bot },
                body: text(&format!("m{seq}")),
                client_id: client_id.map(Into::into),
                at_ms: 0,
            },
        }
    }

    fn welcome(last_seq: u64) -> VisitorEvent {
        VisitorEvent::Welcome { state: SessionState::Waiting, queue_position: None, agent_name: None, last_seq }
    }

    fn delivered(out: &[SessionOutput]) -> Vec<u64> {
        out.iter()
            .filter_map(|o| match o {
                SessionOutput::Deliver(m) => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    fn transmitted(out: &[SessionOutput]) -> Vec<VisitorCommand> {
        out.iter()
            .filter_map(|o| match o {
                SessionOutput::Transmit(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn connected(after_seq: u64) -> SessionClient {
        let mut s = SessionClient::new("t", after_seq);
        s.opened("h");
        s.receive(welcome(after_seq));
        s
    }

    #[test]
    fn hello_carries_the_last_seq_seen() {
        let mut s = SessionClient::new("t", 7);
        assert_eq!(
            transmitted(&s.opened("h")),
            vec![VisitorCommand::Hello { version: PROTOCOL_VERSION, session: "h".into(), after_seq: 7 }]
        );
        s.receive(welcome(9));
        s.receive(msg(8, None));
        s.receive(msg(9, None));
        s.closed();
        assert_eq!(
            transmitted(&s.opened("h")),
            vec![VisitorCommand::Hello { version: PROTOCOL_VERSION, session: "h".into(), after_seq: 9 }]
        );
    }

    #[test]
    fn out_of_order_messages_wait_for_the_gap_and_come_out_in_order() {
        let mut s = connected(0);
        assert_eq!(delivered(&s.receive(msg(2, None))), Vec::<u64>::new());
        assert_eq!(delivered(&s.receive(msg(3, None))), Vec::<u64>::new());
        assert_eq!(delivered(&s.receive(msg(1, None))), vec![1, 2, 3]);
        assert_eq!(s.last_seq(), 3);
    }

    #[test]
    fn replayed_messages_after_reconnect_are_shown_once() {
        let mut s = connected(0);
        let mut shown = Vec::new();
        for seq in 1..=3 {
            shown.extend(delivered(&s.receive(msg(seq, None))));
        }
        s.closed();
        s.opened("h");
        s.receive(welcome(5));
        // A gateway that replays more than asked must not double anything.
        for seq in 2..=5 {
            shown.extend(delivered(&s.receive(msg(seq, None))));
        }
        shown.extend(delivered(&s.receive(msg(5, None))));
        assert_eq!(shown, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn sends_made_offline_go_out_in_order_after_welcome() {
        let mut s = SessionClient::new("t", 0);
        let (a, out_a) = s.send(text("first"));
        let (b, out_b) = s.send(text("second"));
        assert!(out_a.is_empty() && out_b.is_empty(), "nothing goes out while offline");
        assert!(transmitted(&s.opened("h")).iter().all(|c| matches!(c, VisitorCommand::Hello { .. })));
        let flushed = transmitted(&s.receive(welcome(0)));
        let ids: Vec<_> = flushed
            .iter()
            .map(|c| match c {
                VisitorCommand::Send { client_id, .. } => client_id.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![a, b]);
    }

    #[test]
    fn unacknowledged_send_is_retried_with_the_same_client_id_after_a_drop() {
        let mut s = connected(0);
        let (id, out) = s.send(text("hello"));
        let first = transmitted(&out);
        assert_eq!(first.len(), 1);
        s.closed(); // the socket died before the ack
        s.opened("h");
        let retried = transmitted(&s.receive(welcome(0)));
        assert_eq!(retried, first, "same command, same client id: the gateway stores it once");
        // The gateway had stored it after all: ack and message arrive; shown once, confirmed once.
        let out = s.receive(VisitorEvent::Ack { client_id: id.clone(), seq: 1 });
        assert_eq!(out, vec![SessionOutput::Confirmed { client_id: id.clone(), seq: 1 }]);
        let out = s.receive(msg(1, Some(&id)));
        assert_eq!(delivered(&out), vec![1]);
        assert!(!out.iter().any(|o| matches!(o, SessionOutput::Confirmed { .. })));
        s.closed();
        s.opened("h");
        assert!(transmitted(&s.receive(welcome(1))).is_empty(), "acknowledged sends are not resent");
    }

    #[test]
    fn message_echo_confirms_a_send_whose_ack_was_lost() {
        let mut s = connected(0);
        let (id, _) = s.send(text("hi"));
        let out = s.receive(msg(1, Some(&id)));
        assert!(out.contains(&SessionOutput::Confirmed { client_id: id, seq: 1 }));
        assert_eq!(s.pending_ids().count(), 0);
    }

    #[test]
    fn client_ids_are_unique_and_prefixed() {
        let mut s = SessionClient::new("p9", 0);
        let (a, _) = s.send(text("a"));
        let (b, _) = s.choose("opt".into());
        assert_ne!(a, b);
        assert!(a.starts_with("p9-") && b.starts_with("p9-"));
    }

    #[test]
    fn rejected_send_is_not_retried() {
        let mut s = connected(0);
        let (id, _) = s.send(text("x"));
        let out = s.receive(VisitorEvent::Error {
            code: "message_too_long".into(),
            message: "too long".into(),
            client_id: Some(id.clone()),
        });
        assert!(matches!(&out[..], [SessionOutput::Rejected { client_id, .. }] if *client_id == id));
        s.closed();
        s.opened("h");
        assert!(transmitted(&s.receive(welcome(0))).is_empty());
    }

    #[test]
    fn transient_commands_are_dropped_offline() {
        let s = SessionClient::new("t", 0);
        assert!(s.transient(VisitorCommand::Typing { active: true }).is_empty());
        let s = connected(0);
        assert_eq!(s.transient(VisitorCommand::StartHandoff), vec![SessionOutput::Transmit(VisitorCommand::StartHandoff)]);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(reconnect_delay_ms(1), 500);
        assert_eq!(reconnect_delay_ms(2), 1000);
        assert_eq!(reconnect_delay_ms(4), 4000);
        assert_eq!(reconnect_delay_ms(10), RECONNECT_MAX_MS);
        assert_eq!(reconnect_delay_ms(u32::MAX), RECONNECT_MAX_MS);
        let mut s = SessionClient::new("t", 0);
        assert_eq!(s.closed(), 500);
        assert_eq!(s.closed(), 1000);
        s.opened("h");
        s.receive(welcome(0));
        assert_eq!(s.failed_connects(), 0);
        assert_eq!(s.closed(), 500, "a connection that was up restarts the backoff");
    }
}
