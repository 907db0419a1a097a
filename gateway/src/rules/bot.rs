//! What the built-in bot says (its menu, FAQ answers, handing over), and what outside bots'
//! buttons and silences mean.

use consult_sdk::protocol::{Body, ChatMessage, MenuOption, Sender, SessionState};

use crate::config::{Bot, BotAction, Channel, FreeText};
use crate::store::SessionRow;

/// The bot tells the visitor a person takes it from here.
pub const HANDING_TO_AGENT: &str = "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요. · Connecting you to an agent; they will see your message.";

/// The prompt of the menu that follows an FAQ answer.
const MORE_HELP: &str = "다른 도움이 필요하면 아래에서 고르거나 상담원 연결을 눌러 주세요. · Need more? Pick below or talk to an agent.";

/// The prompt of the menu offered when a typed message matched nothing.
const NO_ANSWER: &str = "바로 답할 수 있는 내용을 찾지 못했어요. 아래에서 고르거나 상담원 연결을 눌러 주세요. · I couldn't find an answer to that. Pick a topic below or talk to an agent.";

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

/// Whether the built-in bot acts on a tapped menu option: the session was with the bot before
/// the tap (or none was open, so the tap opened one), still is, and the tap is not a retry.
pub fn acts_on_choice(before: Option<&SessionRow>, after: Option<&SessionRow>, duplicate: bool) -> bool {
    let was_bot = before.is_none_or(|s| !s.is_open() || s.state == SessionState::Bot);
    was_bot && !duplicate && after.is_some_and(|s| s.state == SessionState::Bot)
}

/// The label of `option` among the buttons of the latest bot message that has any (`recent`,
/// oldest first): a menu, or a card list (any card's buttons). An outside bot's tap comes back
/// as this label.
pub fn offered_label(recent: &[ChatMessage], option: &str) -> Option<String> {
    let offered = recent.iter().rev().find_map(|m| match (&m.sender, &m.body) {
        (Sender::Bot, Body::Menu { options, .. }) => Some(options.iter().collect::<Vec<_>>()),
        (Sender::Bot, Body::Cards { cards, .. }) => Some(cards.iter().flat_map(|c| &c.options).collect()),
        _ => None,
    });
    offered?.into_iter().find(|o| o.id == option).map(|o| o.label.clone())
}

/// An outside bot left the visitor waiting: the session's last message is the visitor's and at
/// least `fallback_secs` old, so the queue takes over.
pub fn outside_bot_overdue(last: Option<&ChatMessage>, fallback_secs: u64, now_ms: u64) -> bool {
    last.is_some_and(|m| m.sender == Sender::Visitor && now_ms.saturating_sub(m.at_ms) >= fallback_secs * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BotOption;
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

    fn said(seq: u64, sender: Sender, body: Body, at_ms: u64) -> ChatMessage {
        ChatMessage { seq, sender, body, client_id: None, at_ms }
    }

    fn menu(ids: &[&str]) -> Body {
        let options = ids.iter().map(|id| MenuOption { id: id.to_string(), label: format!("{id}!"), url: None }).collect();
        Body::Menu { text: "pick".into(), options }
    }

    #[test]
    fn a_tap_is_the_latest_bot_buttons_label_and_nothing_else() {
        let recent = [
            said(1, Sender::Bot, menu(&["old"]), 1),
            said(2, Sender::Visitor, Body::Text { text: "hm".into() }, 2),
            said(3, Sender::Bot, menu(&["yes", "no"]), 3),
        ];
        assert_eq!(offered_label(&recent, "no").as_deref(), Some("no!"));
        assert_eq!(offered_label(&recent, "old"), None, "an older menu's buttons are gone");
        assert_eq!(offered_label(&recent[..1], "old").as_deref(), Some("old!"));
        assert_eq!(offered_label(&[], "yes"), None);
    }

    #[test]
    fn the_bot_acts_on_a_new_tap_in_a_session_with_it() {
        let bot = session("s", SessionState::Bot, None);
        let queued = session("s", SessionState::Queued, None);
        let closed = session("s", SessionState::Closed, None);
        assert!(acts_on_choice(Some(&bot), Some(&bot), false));
        assert!(acts_on_choice(None, Some(&bot), false), "the tap opened the session");
        assert!(acts_on_choice(Some(&closed), Some(&bot), false), "the tap opened a new one");
        assert!(!acts_on_choice(Some(&bot), Some(&bot), true), "a retried tap");
        assert!(!acts_on_choice(Some(&queued), Some(&queued), false), "agents have it");
        assert!(!acts_on_choice(Some(&queued), Some(&bot), false), "not with the bot before the tap");
    }

    #[test]
    fn the_queue_takes_over_when_the_visitor_waited_too_long_for_an_outside_bot() {
        let asked = said(5, Sender::Visitor, Body::Text { text: "?".into() }, 10_000);
        assert!(!outside_bot_overdue(Some(&asked), 30, 39_999));
        assert!(outside_bot_overdue(Some(&asked), 30, 40_000));
        let answered = said(6, Sender::Bot, Body::Text { text: "!".into() }, 10_000);
        assert!(!outside_bot_overdue(Some(&answered), 30, 99_000), "the bot spoke last");
        assert!(!outside_bot_overdue(None, 30, 99_000));
    }
}
