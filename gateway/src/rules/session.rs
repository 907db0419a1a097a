//! A session's course: how a visitor's message opens it, where it stands in the queue, and what
//! the visitor is told when it moves or closes (what the bot says is [`super::bot`]).

use consult_sdk::protocol::{ChatMessage, CloseReason, SessionState};

use crate::hours::{AfterHours, BusinessHours};
use crate::rules::Event;
use crate::store::{OpenAs, SessionRow};

/// Closing notices, in Korean and English like the rest of the visitor's chat.
pub fn close_notice(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::VisitorLeft => "상담이 종료되었습니다. · The chat has ended.",
        CloseReason::Inactivity => "한동안 메시지가 없어 상담이 종료되었습니다. · The chat closed after a period without messages.",
        CloseReason::AgentClosed => "상담원이 상담을 종료했습니다. · The agent closed the chat.",
        CloseReason::HandedOff => "휴대폰으로 상담이 이어졌습니다. · The chat moved to a phone.",
        CloseReason::Blocked => "상담이 종료되었습니다. · The chat has ended.",
    }
}

/// The agent's part ended and the bot takes the chat again.
pub const BACK_TO_BOT: &str = "상담원 상담이 끝났어요. 챗봇이 이어서 도와드릴게요. · The agent has finished; the assistant takes it from here.";

/// The visitor is told who has the chat now.
pub fn transfer_notice(agent_name: &str) -> String {
    format!("{agent_name}님에게 상담이 전달되었습니다. · You are now chatting with {agent_name}.")
}

/// Whether the desk takes requests at `now_s` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    /// Within business hours (or the channel has none).
    Open,
    /// After hours: requests wait in the queue for the opening.
    ClosedWaiting,
    /// After hours: new requests are refused (an open session goes on).
    ClosedRefusing,
}

/// The desk of a channel with these business hours at `now_s`.
pub fn desk(hours: Option<&BusinessHours>, now_s: u64) -> Desk {
    match hours {
        Some(h) if !h.is_open(now_s) => match h.after_hours {
            AfterHours::Wait => Desk::ClosedWaiting,
            AfterHours::Refuse => Desk::ClosedRefusing,
        },
        _ => Desk::Open,
    }
}

/// How a visitor's first message opens a session: with the bot (the channel's menu or an
/// outside bot) while the desk is open, else straight into the queue.
pub fn open_as(has_bot: bool, desk: Desk) -> OpenAs {
    if has_bot && desk == Desk::Open { OpenAs::Bot } else { OpenAs::Queued(None) }
}

/// A queued session's place in its channel's queue (`queued`: every queued session, oldest
/// first), 1 = next; `None` when it is not queued.
pub fn queue_position(queued: &[SessionRow], session: &SessionRow) -> Option<u32> {
    if session.state != SessionState::Queued {
        return None;
    }
    let ahead = queued.iter().filter(|s| s.channel == session.channel).position(|s| s.id == session.id)?;
    Some(ahead as u32 + 1)
}

/// A session changed state (opened, queued, assigned, back to the bot): its visitor sees the
/// new state (with its place, when queued), every desk working its channel the session.
pub fn moved(session: &SessionRow, queue_position: Option<u32>) -> [Event; 2] {
    [Event::state(session, queue_position), Event::Session(session.summary())]
}

/// A session closed with `notice`: the visitor, the assignee and the supervisors watching get
/// the notice, then as [`moved`].
pub fn closed(session: &SessionRow, notice: &ChatMessage) -> Vec<Event> {
    let mut events = vec![Event::message(&session.conversation, Some(session), notice)];
    events.extend(moved(session, None));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::DayHours;
    use crate::rules::fixtures::session;

    #[test]
    fn every_close_reason_has_its_own_notice_in_both_languages() {
        let reasons = [CloseReason::VisitorLeft, CloseReason::Inactivity, CloseReason::AgentClosed, CloseReason::HandedOff, CloseReason::Blocked];
        for r in reasons {
            assert!(close_notice(r).contains(" · "), "{r:?}");
        }
        assert!(close_notice(CloseReason::Inactivity).contains("without messages"));
        assert!(close_notice(CloseReason::AgentClosed).contains("agent closed"));
        assert!(close_notice(CloseReason::HandedOff).contains("phone"));
        // A blocked visitor is not told why.
        assert_eq!(close_notice(CloseReason::Blocked), close_notice(CloseReason::VisitorLeft));
    }

    #[test]
    fn after_hours_a_message_waits_or_is_refused_and_the_bot_runs_only_while_open() {
        let mut hours = BusinessHours {
            tz: jiff::tz::TimeZone::UTC,
            tz_name: "UTC".into(),
            days: std::array::from_fn(|_| DayHours::parse("09:00-18:00").unwrap()),
            holidays: Vec::new(),
            after_hours: AfterHours::Wait,
            message: "closed".into(),
        };
        let noon = 12 * 3600;
        let night = 22 * 3600;
        assert_eq!(desk(None, night), Desk::Open);
        assert_eq!(desk(Some(&hours), noon), Desk::Open);
        assert_eq!(desk(Some(&hours), night), Desk::ClosedWaiting);
        hours.after_hours = AfterHours::Refuse;
        assert_eq!(desk(Some(&hours), night), Desk::ClosedRefusing);
        assert_eq!(open_as(true, Desk::Open), OpenAs::Bot);
        assert_eq!(open_as(true, Desk::ClosedWaiting), OpenAs::Queued(None));
        assert_eq!(open_as(false, Desk::Open), OpenAs::Queued(None));
    }

    #[test]
    fn a_close_tells_the_visitor_and_whoever_follows_the_session_and_every_desk_of_the_channel() {
        let mut row = session("s1", SessionState::Closed, Some("mina"));
        row.close_reason = Some(CloseReason::Inactivity);
        let notice = ChatMessage {
            seq: 7,
            sender: consult_sdk::protocol::Sender::System,
            body: consult_sdk::protocol::Body::Text { text: close_notice(CloseReason::Inactivity).into() },
            client_id: None,
            at_ms: 1,
        };
        let events = closed(&row, &notice);
        assert!(matches!(&events[0], Event::Message { conversation, session: Some(s), assignee: Some(a), message }
            if conversation == "c-s1" && s == "s1" && a == "mina" && message.seq == 7));
        assert!(matches!(&events[1], Event::State { state: SessionState::Closed, reason: Some(CloseReason::Inactivity), queue_position: None, .. }));
        assert!(matches!(&events[2], Event::Session(summary) if summary.state == SessionState::Closed && summary.channel == "shop"));
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn a_queued_visitor_sees_their_place_and_an_assigned_one_who_has_the_chat() {
        let queued = session("s1", SessionState::Queued, None);
        assert!(matches!(&moved(&queued, Some(2))[0], Event::State { queue_position: Some(2), agent: None, .. }));
        let assigned = session("s1", SessionState::Assigned, Some("mina"));
        assert!(matches!(&moved(&assigned, None)[0], Event::State { state: SessionState::Assigned, agent: Some(a), .. } if a == "mina"));
    }

    #[test]
    fn queue_positions_count_within_the_channel_only() {
        let mut other = session("o1", SessionState::Queued, None);
        other.channel = "other".into();
        let queued = [session("a", SessionState::Queued, None), other, session("b", SessionState::Queued, None)];
        assert_eq!(queue_position(&queued, &queued[0]), Some(1));
        assert_eq!(queue_position(&queued, &queued[2]), Some(2));
        assert_eq!(queue_position(&queued, &queued[1]), Some(1));
        let mut taken = queued[0].clone();
        taken.state = SessionState::Assigned;
        assert_eq!(queue_position(&queued, &taken), None);
    }
}
