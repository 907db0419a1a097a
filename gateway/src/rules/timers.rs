//! The periodic decisions: which quiet sessions close, whose visitor is warned first, and which
//! agents hear that a visitor has gone quiet. Each notice goes out once per silence.

use std::collections::HashMap;

use crate::rules::Event;
use crate::store::SessionRow;

/// What the periodic work remembers between ticks, so each notice goes out once.
#[derive(Debug, Default)]
pub struct TickMemory {
    /// Sessions told "quiet", with the visitor's last message time then.
    pub quiet_sent: HashMap<String, u64>,
    /// Sessions warned of the inactivity close, with their last message time then.
    pub warned: HashMap<String, u64>,
}

/// Sessions whose last message is older than this (Unix ms) are closed or warned: the close
/// comes after `inactivity_secs`, the warning a quarter of that earlier (1 to 60 s).
pub fn quiet_since_ms(inactivity_secs: u64, now_ms: u64) -> u64 {
    close_before_ms(inactivity_secs, now_ms) + warn_secs(inactivity_secs) * 1000
}

fn close_before_ms(inactivity_secs: u64, now_ms: u64) -> u64 {
    now_ms.saturating_sub(inactivity_secs * 1000)
}

fn warn_secs(inactivity_secs: u64) -> u64 {
    (inactivity_secs / 4).clamp(1, 60)
}

/// What the inactivity rule decided.
#[derive(Debug, Default, PartialEq)]
pub struct Inactivity {
    /// Sessions to close for inactivity.
    pub close: Vec<String>,
    /// Warnings of the coming close ([`Event::Closing`]).
    pub warnings: Vec<Event>,
}

/// The inactivity rule over each channel's open sessions quiet since [`quiet_since_ms`]
/// (`(inactivity_secs, sessions)` per channel): past the period they close; the others are
/// warned, once per silence. `warned` is what was warned before, and becomes what is now.
pub fn inactivity(quiet: &[(u64, Vec<SessionRow>)], now_ms: u64, warned: &mut HashMap<String, u64>) -> Inactivity {
    let mut out = Inactivity::default();
    let mut still_warned = HashMap::new();
    for (inactivity_secs, sessions) in quiet {
        let close_before = close_before_ms(*inactivity_secs, now_ms);
        for s in sessions {
            if s.last_ms < close_before {
                out.close.push(s.id.clone());
                continue;
            }
            if warned.get(&s.id) != Some(&s.last_ms) {
                let secs = (s.last_ms + inactivity_secs * 1000).saturating_sub(now_ms).div_ceil(1000);
                out.warnings.push(Event::Closing { conversation: s.conversation.clone(), secs: secs.max(1) as u32 });
            }
            still_warned.insert(s.id.clone(), s.last_ms);
        }
    }
    *warned = still_warned;
    out
}

/// The "visitor has gone quiet" notices for agents' open sessions (`(agent, sessions)`): one
/// per silence of `quiet_ms` or more. `sent` is what was told before, and becomes what is now
/// (sessions no longer assigned are forgotten).
pub fn quiet_notices(assigned: &[(String, Vec<SessionRow>)], now_ms: u64, quiet_ms: u64, sent: &mut HashMap<String, u64>) -> Vec<Event> {
    let mut events = Vec::new();
    let mut still = HashMap::new();
    for (agent, sessions) in assigned {
        for s in sessions {
            if now_ms.saturating_sub(s.last_visitor_ms) >= quiet_ms && sent.get(&s.id) != Some(&s.last_visitor_ms) {
                events.push(Event::Quiet { agent: agent.clone(), session: s.id.clone() });
                still.insert(s.id.clone(), s.last_visitor_ms);
            } else if let Some(v) = sent.get(&s.id) {
                still.insert(s.id.clone(), *v);
            }
        }
    }
    *sent = still;
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixtures::session;
    use consult_sdk::protocol::SessionState;

    fn quiet_at(id: &str, last_ms: u64) -> SessionRow {
        let mut s = session(id, SessionState::Assigned, Some("mina"));
        s.last_ms = last_ms;
        s.last_visitor_ms = last_ms;
        s
    }

    #[test]
    fn past_the_period_a_session_closes_and_shortly_before_it_the_visitor_is_warned_once() {
        // 120 s period: warned from 30 s before the close.
        let now = 1_000_000;
        assert_eq!(quiet_since_ms(120, now), now - 120_000 + 30_000);
        let sessions = vec![quiet_at("old", now - 121_000), quiet_at("soon", now - 100_000)];
        let mut warned = HashMap::new();
        let first = inactivity(&[(120, sessions.clone())], now, &mut warned);
        assert_eq!(first.close, ["old"]);
        assert_eq!(first.warnings, [Event::Closing { conversation: "c-soon".into(), secs: 20 }]);
        // The next tick, same silence: no second warning.
        let again = inactivity(&[(120, sessions[1..].to_vec())], now + 1_000, &mut warned);
        assert!(again.warnings.is_empty() && again.close.is_empty());
        // The visitor wrote and fell silent again: warned again.
        let later = inactivity(&[(120, vec![quiet_at("soon", now - 95_000)])], now + 1_000, &mut warned);
        assert_eq!(later.warnings.len(), 1);
        // A session that left the window is forgotten.
        inactivity(&[], now, &mut warned);
        assert!(warned.is_empty());
    }

    #[test]
    fn short_periods_warn_at_least_a_second_ahead_and_long_ones_a_minute() {
        assert_eq!(quiet_since_ms(2, 10_000), 10_000 - 2_000 + 1_000);
        assert_eq!(quiet_since_ms(3600, 10_000_000), 10_000_000 - 3_600_000 + 60_000);
        // A warning never says 0 seconds.
        let now = 50_000;
        let mut warned = HashMap::new();
        let plan = inactivity(&[(4, vec![quiet_at("s", now - 4_000)])], now, &mut warned);
        assert_eq!(plan.warnings, [Event::Closing { conversation: "c-s".into(), secs: 1 }]);
    }

    #[test]
    fn agents_hear_once_per_silence_that_a_visitor_went_quiet() {
        let now = 600_000;
        let assigned = vec![("mina".to_string(), vec![quiet_at("s1", now - 300_000), quiet_at("s2", now - 10_000)])];
        let mut sent = HashMap::new();
        let events = quiet_notices(&assigned, now, 120_000, &mut sent);
        assert_eq!(events, [Event::Quiet { agent: "mina".into(), session: "s1".into() }]);
        assert!(quiet_notices(&assigned, now + 1_000, 120_000, &mut sent).is_empty());
        // Not assigned any more: forgotten, so a later silence is told again.
        quiet_notices(&[], now, 120_000, &mut sent);
        assert!(sent.is_empty());
        assert_eq!(quiet_notices(&assigned, now, 120_000, &mut sent).len(), 1);
    }
}
