//! A session's course: how a visitor's message opens it, what the bot answers, where it stands
//! in the queue, and what the visitor is told when it moves or closes.

use consult_sdk::protocol::{Body, CloseReason, MenuOption, SessionState};

use crate::config::{Bot, BotAction, Channel, FreeText};
use crate::hours::{AfterHours, BusinessHours};
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

/// The bot tells the visitor a person takes it from here.
pub const HANDING_TO_AGENT: &str = "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요. · Connecting you to an agent; they will see your message.";

/// The agent's part ended and the bot takes the chat again.
pub const BACK_TO_BOT: &str = "상담원 상담이 끝났어요. 챗봇이 이어서 도와드릴게요. · The agent has finished; the assistant takes it from here.";

/// The prompt of the menu that follows an FAQ answer.
const MORE_HELP: &str = "다른 도움이 필요하면 아래에서 고르거나 상담원 연결을 눌러 주세요. · Need more? Pick below or talk to an agent.";

/// The prompt of the menu offered when a typed message matched nothing.
const NO_ANSWER: &str = "바로 답할 수 있는 내용을 찾지 못했어요. 아래에서 고르거나 상담원 연결을 눌러 주세요. · I couldn't find an answer to that. Pick a topic below or talk to an agent.";

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

/// The channel's bot menu as a message body, if it has one.
pub fn menu_body(channel: &Channel) -> Option<Body> {
    let bot = channel.bot.as_ref()?;
    Some(Body::Menu {
        text: bot.prompt.clone(),
        options: bot
            .options
            .iter()
            .map(|o| MenuOption {
                id: o.id.clone(),
                label: o.label.clone(),
                url: match &o.action {
                    BotAction::Link(u) => Some(u.clone()),
                    _ => None,
                },
            })
            .collect(),
    })
}

/// The menu again under another prompt.
fn menu_with(channel: &Channel, text: &str) -> Option<Body> {
    match menu_body(channel)? {
        Body::Menu { options, .. } => Some(Body::Menu { text: text.into(), options }),
        _ => None,
    }
}

/// Words in a typed message that ask for a person rather than an FAQ answer.
const PERSON_WORDS: &[&str] = &["상담원", "상담사", "사람", "직원", "agent", "human", "person", "someone"];

/// What the built-in bot does with a message the visitor typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotReply {
    /// Bot messages to store, in order; the session stays with the bot.
    Answer(Vec<Body>),
    /// The bot says it hands over, and the session is queued.
    Queue,
}

/// A message the visitor typed while the bot runs (`first`: the one that opened the session).
/// An FAQ answer whose keyword it contains answers it (and the menu follows); words asking for
/// a person, an attachment, or no match go to the channel's choice: queue at once, or — for the
/// first message only — say no answer was found and offer the menu with its agent option (the
/// next typed message queues).
pub fn bot_reply(channel: &Channel, bot: &Bot, body: &Body, first: bool) -> BotReply {
    let text = match body {
        Body::Text { text } => text.to_lowercase(),
        _ => String::new(),
    };
    let wants_person = PERSON_WORDS.iter().any(|w| text.contains(w));
    let answer = bot.options.iter().find_map(|o| match &o.action {
        BotAction::Answer(a) if !wants_person && o.keywords.iter().any(|k| text.contains(k.as_str())) => Some(a.clone()),
        _ => None,
    });
    if let Some(answer) = answer {
        let mut said = vec![Body::Text { text: answer }];
        said.extend(menu_with(channel, MORE_HELP));
        return BotReply::Answer(said);
    }
    if bot.free_text == FreeText::Offer && first && !wants_person {
        return BotReply::Answer(menu_with(channel, NO_ANSWER).into_iter().collect());
    }
    BotReply::Queue
}

/// What the built-in bot says after the visitor chose a menu option that answers.
pub fn chosen_answer(channel: &Channel, answer: &str) -> Vec<Body> {
    let mut said = vec![Body::Text { text: answer.into() }];
    said.extend(menu_body(channel));
    said
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BotOption;
    use crate::hours::DayHours;
    use crate::rules::fixtures::{channel, session};

    fn faq_channel(free_text: FreeText) -> Channel {
        let option = |id: &str, action: BotAction, keywords: &[&str]| BotOption {
            id: id.into(),
            label: id.to_uppercase(),
            action,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        };
        let mut c = channel("shop");
        c.bot = Some(Bot {
            prompt: "How can we help?".into(),
            options: vec![
                option("ship", BotAction::Answer("Orders ship in 2 days.".into()), &["shipping", "배송"]),
                option("track", BotAction::Link("https://shop.test/track".into()), &[]),
                option("agent", BotAction::Queue("general".into()), &[]),
            ],
            free_text,
        });
        c
    }

    fn reply(c: &Channel, text: &str, first: bool) -> BotReply {
        bot_reply(c, c.bot.as_ref().unwrap(), &Body::Text { text: text.into() }, first)
    }

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
    fn a_keyword_answers_with_the_menu_after_it_and_asking_for_a_person_queues() {
        let c = faq_channel(FreeText::Queue);
        let BotReply::Answer(said) = reply(&c, "When is SHIPPING?", true) else { panic!("no answer") };
        assert_eq!(said[0], Body::Text { text: "Orders ship in 2 days.".into() });
        assert!(matches!(&said[1], Body::Menu { text, options } if text.contains("Need more") && options.len() == 3));
        assert_eq!(reply(&c, "배송 상담원 연결", true), BotReply::Queue);
        assert_eq!(reply(&c, "something else", true), BotReply::Queue);
        // An attachment never matches a keyword.
        let photo = Body::Image { attachment: "a".into(), mime: "image/png".into(), size: 1 };
        assert_eq!(bot_reply(&c, c.bot.as_ref().unwrap(), &photo, true), BotReply::Queue);
    }

    #[test]
    fn offering_the_menu_happens_once_then_typing_queues() {
        let c = faq_channel(FreeText::Offer);
        let BotReply::Answer(said) = reply(&c, "hello?", true) else { panic!("no offer") };
        assert!(matches!(&said[..], [Body::Menu { text, .. }] if text.contains("couldn't find")));
        assert_eq!(reply(&c, "hello again", false), BotReply::Queue);
        assert_eq!(reply(&c, "a person please", true), BotReply::Queue);
    }

    #[test]
    fn links_travel_with_the_menu_and_answers_are_followed_by_it() {
        let c = faq_channel(FreeText::Queue);
        let Some(Body::Menu { options, .. }) = menu_body(&c) else { panic!("no menu") };
        assert_eq!(options[1].url.as_deref(), Some("https://shop.test/track"));
        assert_eq!(options[0].url, None);
        assert_eq!(chosen_answer(&c, "Yes.").len(), 2);
        assert!(menu_body(&channel("plain")).is_none());
        assert_eq!(chosen_answer(&channel("plain"), "Yes."), vec![Body::Text { text: "Yes.".into() }]);
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
