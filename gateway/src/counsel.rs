//! The Counsel API's rules: the webhook events each change writes (in its own transaction), and
//! what an API key may do to a session beyond the desk's rules — reply as the bot, hand over to
//! the queue, and act as the system (assign, close, block) when the key has no agent identity.
//! Agent keys go through the desk's own functions ([`Core::agent_send`], [`Core::take`], …).

use consult_sdk::counsel::{AttachmentCreated, MessageCreated, PageChanged, SessionOpened, StateChanged, WebhookEvent, codes};
use consult_sdk::protocol::{Body, ChatMessage, CloseReason, SessionState};

use axum::http::StatusCode;

use crate::config::Channel;
use crate::core::Core;
use crate::rules::Event;
use crate::error::AppError;
use crate::store::{AgentWriteError, SessionRow, Store};
use crate::supervise::entry_label;
use crate::webhooks::config::BotConfig;
use crate::webhooks::emit;

type R<T> = Result<T, AppError>;

/// A visitor message stored: `session.opened` first when it opened the session, then the message.
pub fn visitor_wrote(store: &mut dyn Store, session: &SessionRow, opened: bool, message: &ChatMessage, option: Option<&str>, now_ms: u64) -> R<()> {
    if opened {
        emit(store, &session.channel, Some(&session.id), WebhookEvent::SessionOpened(SessionOpened { session: session.summary() }), now_ms)?;
    }
    tapped(store, session, message, option, now_ms)
}

/// `message.created`.
pub fn message_created(store: &mut dyn Store, session: &SessionRow, message: &ChatMessage, now_ms: u64) -> R<()> {
    tapped(store, session, message, None, now_ms)
}

/// `message.created`, with the menu option the message records when it is a tap.
fn tapped(store: &mut dyn Store, session: &SessionRow, message: &ChatMessage, option: Option<&str>, now_ms: u64) -> R<()> {
    let data = MessageCreated { session: session.id.clone(), user_key: session.user_key.clone(), message: message.clone(), option: option.map(Into::into) };
    emit(store, &session.channel, Some(&session.id), WebhookEvent::MessageCreated(data), now_ms)
}

/// `session.state_changed` from `from` to the row's state.
pub fn state_changed(store: &mut dyn Store, row: &SessionRow, from: SessionState, now_ms: u64) -> R<()> {
    let data = StateChanged {
        session: row.id.clone(),
        from,
        to: row.state,
        agent: row.agent.clone(),
        category: row.category.clone(),
        reason: row.close_reason,
    };
    emit(store, &row.channel, Some(&row.id), WebhookEvent::StateChanged(data), now_ms)
}

/// `session.page_changed`.
pub fn page_changed(store: &mut dyn Store, row: &SessionRow, now_ms: u64) -> R<()> {
    let data = PageChanged { session: row.id.clone(), page: row.current_page.clone() };
    emit(store, &row.channel, Some(&row.id), WebhookEvent::PageChanged(data), now_ms)
}

/// `attachment.created` for a visitor upload.
pub fn attachment_created(store: &mut dyn Store, channel: &str, conversation: &str, data: AttachmentCreated, now_ms: u64) -> R<()> {
    let (session, _) = store.conversation_state(conversation)?;
    let session = session.filter(SessionRow::is_open).map(|s| s.id);
    emit(store, channel, session.as_deref(), WebhookEvent::AttachmentCreated(AttachmentCreated { session: session.clone(), ..data }), now_ms)
}

/// Who acts through an API key: its agent (the desk's rules apply as to that agent), or the
/// system (the key's channel only; may assign, close and block, never write as an agent).
#[derive(Debug, Clone)]
pub enum Actor {
    /// The key's agent.
    Agent(String),
    /// A key without an agent identity; the key id is recorded where the desk records an agent.
    System(String),
}

/// Most buttons in one bot message.
pub const MAX_MENU_OPTIONS: usize = 10;

/// A bot's buttons: text as any message, 1 to 10 options with distinct ids (1 to 64 of
/// `A-Za-z0-9_.-`), labels of 1 to 60 characters, links only `https://` (or `http://`).
///
/// # Errors
/// `bad_request`, naming the first fault.
pub fn check_menu(body: Body) -> R<Body> {
    let Body::Menu { text, options } = body else { return Ok(body) };
    consult_sdk::protocol::check_text(&text).map_err(AppError::Message)?;
    if options.is_empty() || options.len() > MAX_MENU_OPTIONS {
        return Err(AppError::BadRequest(format!("a menu has 1 to {MAX_MENU_OPTIONS} options")));
    }
    for (i, o) in options.iter().enumerate() {
        let id_ok = (1..=64).contains(&o.id.len()) && o.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !id_ok {
            return Err(AppError::BadRequest(format!("options[{i}].id: 1 to 64 of A-Z a-z 0-9 _ . -")));
        }
        if options[..i].iter().any(|p| p.id == o.id) {
            return Err(AppError::BadRequest(format!("options[{i}].id {:?} is used twice", o.id)));
        }
        let label_ok = consult_sdk::protocol::check_text(&o.label).is_ok() && o.label.chars().count() <= 60;
        if !label_ok {
            return Err(AppError::BadRequest(format!("options[{i}].label: 1 to 60 characters of text")));
        }
        if let Some(url) = &o.url {
            if !link_ok(url) {
                return Err(AppError::BadRequest(format!("options[{i}].url: an http(s) URL of at most 2048 bytes")));
            }
        }
    }
    Ok(Body::Menu { text, options })
}

/// Most cards in one bot message, and buttons on one card.
pub const MAX_CARDS: usize = 10;
const MAX_CARD_OPTIONS: usize = 3;

/// A bot's card list: text as any message; 1 to 10 cards, each with a title of 1 to 80
/// characters, an optional line of up to 200, an optional http(s) link and 0 to 3 buttons
/// checked as a menu's (ids distinct across the whole list).
///
/// # Errors
/// `bad_request`, naming the first fault.
pub fn check_cards(body: Body) -> R<Body> {
    let Body::Cards { text, cards } = body else { return Ok(body) };
    consult_sdk::protocol::check_text(&text).map_err(AppError::Message)?;
    if cards.is_empty() || cards.len() > MAX_CARDS {
        return Err(AppError::BadRequest(format!("a card list has 1 to {MAX_CARDS} cards")));
    }
    let short = |t: &str, max: usize| consult_sdk::protocol::check_text(t).is_ok() && t.chars().count() <= max;
    let mut all_options = Vec::new();
    for (i, c) in cards.iter().enumerate() {
        if !short(&c.title, 80) {
            return Err(AppError::BadRequest(format!("cards[{i}].title: 1 to 80 characters of text")));
        }
        if c.description.as_deref().is_some_and(|d| !short(d, 200)) {
            return Err(AppError::BadRequest(format!("cards[{i}].description: 1 to 200 characters of text")));
        }
        if c.url.as_deref().is_some_and(|u| !link_ok(u)) {
            return Err(AppError::BadRequest(format!("cards[{i}].url: an http(s) URL of at most 2048 bytes")));
        }
        if c.options.len() > MAX_CARD_OPTIONS {
            return Err(AppError::BadRequest(format!("cards[{i}]: at most {MAX_CARD_OPTIONS} buttons")));
        }
        all_options.extend(c.options.iter().cloned());
    }
    if !all_options.is_empty() {
        // The same rules as a menu's buttons, ids distinct across the list.
        check_menu(Body::Menu { text: text.clone(), options: all_options })?;
    }
    Ok(Body::Cards { text, cards })
}

fn link_ok(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 2048 && !url.chars().any(char::is_control)
}

fn not_with_bot() -> AppError {
    AppError::Api(StatusCode::CONFLICT, codes::NOT_WITH_BOT, "the session is not open with the bot".into())
}

fn with_the_menu() -> AppError {
    AppError::Api(StatusCode::CONFLICT, codes::NOT_WITH_BOT, "the session is with the channel's built-in menu, not the outside bot (see counsel.bots entries)".into())
}

impl Core {
    /// The outside bot that answers a session while it is with the bot (`[[counsel.bots]]` of
    /// its channel, for its entry point), if any.
    pub fn outside_bot(&self, row: &SessionRow) -> Option<&BotConfig> {
        self.config.counsel.bot_for(&row.channel, &entry_label(row))
    }

    /// Whether the channel's built-in menu answers a session while it is with the bot: the
    /// channel has one and no outside bot takes the session.
    pub fn menu_answers(&self, channel: &Channel, row: &SessionRow) -> bool {
        channel.bot.is_some() && self.outside_bot(row).is_none()
    }

    /// Refuses bot writes into a session that the channel's menu answers while an outside bot
    /// takes the channel's other sessions (without `[[counsel.bots]]`, any integration may).
    fn outside_bot_may_answer(&self, row: &SessionRow) -> R<()> {
        if self.config.counsel.bot(&row.channel).is_some() && self.outside_bot(row).is_none() {
            return Err(with_the_menu());
        }
        Ok(())
    }

    /// A session of `channel`, or `not_found` (another channel's sessions look like none).
    ///
    /// # Errors
    /// `not_found`.
    pub fn channel_session(&self, store: &mut dyn Store, channel: &str, session: &str) -> R<SessionRow> {
        store.session(session)?.filter(|r| r.channel == channel).ok_or(AppError::NotFound)
    }

    /// A bot reply over the API: only into an open session still with the bot (and, when the
    /// channel has an outside bot, one that bot takes); the same `client_id` answers with the
    /// first send's seq and stores nothing.
    ///
    /// # Errors
    /// `not_found`, `not_with_bot`, `session_not_open`, body errors.
    pub fn bot_send(&self, store: &mut dyn Store, channel: &str, owner: &str, session: &str, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        crate::rules::access::check_client_id(client_id)?;
        let row = self.channel_session(store, channel, session)?;
        self.outside_bot_may_answer(&row)?;
        let body = match body {
            // Buttons: the bot's own choices (reply or link); a tap comes back as the label.
            Body::Menu { .. } => check_menu(body)?,
            Body::Cards { .. } => check_cards(body)?,
            body => self.check_body(store, body, crate::rules::access::Uploader::Agent(owner))?,
        };
        let (row, message, duplicate) = match store.bot_write(session, client_id, &body, now_ms)? {
            Ok(w) => w,
            Err(AgentWriteError::NotOpen) => return Err(AppError::AgentWrite(AgentWriteError::NotOpen)),
            Err(AgentWriteError::UnknownSession) => return Err(AppError::NotFound),
            Err(AgentWriteError::NotAssigned) => return Err(not_with_bot()),
        };
        if !duplicate {
            self.metrics.message("bot");
            message_created(store, &row, &message, now_ms)?;
            self.publish(vec![Event::message(&row.conversation, None, &message), Event::Session(row.summary())]);
        }
        Ok(message.seq)
    }

    /// The bot hands a session to the agents' queue (with a category: agents with that skill);
    /// as [`Core::bot_send`], only a session the outside bot takes.
    ///
    /// # Errors
    /// `not_found`, `not_with_bot`.
    pub fn handover(&self, store: &mut dyn Store, channel: &str, session: &str, category: Option<&str>, now_ms: u64) -> R<SessionRow> {
        let row = self.channel_session(store, channel, session)?;
        if row.state != SessionState::Bot {
            return Err(not_with_bot());
        }
        self.outside_bot_may_answer(&row)?;
        if let Some(c) = category
            && (c.is_empty() || c.len() > 64)
        {
            return Err(AppError::BadRequest("category: 1 to 64 characters".into()));
        }
        self.publishing(|out| self.enqueue(store, &row, category, now_ms, out))?;
        self.channel_session(store, channel, session)
    }

    /// Assign (a queued session) or transfer (an assigned one) to `to`.
    ///
    /// # Errors
    /// As [`Core::take`] and [`Core::transfer`]; `not_found` across channels.
    pub fn api_assign(&self, store: &mut dyn Store, channel: &str, actor: &Actor, session: &str, to: &str, now_ms: u64) -> R<SessionRow> {
        let row = self.channel_session(store, channel, session)?;
        match (actor, row.state) {
            (Actor::Agent(a), SessionState::Queued) if a == to => self.take(store, a, session),
            (Actor::Agent(a), SessionState::Assigned) => self.transfer(store, a, session, to, now_ms),
            (Actor::Agent(_), _) => Err(AppError::AgentWrite(AgentWriteError::NotAssigned)),
            (Actor::System(_), SessionState::Assigned) => {
                let from = row.agent.clone().unwrap_or_default();
                self.transfer(store, &from, session, to, now_ms)
            }
            (Actor::System(_), SessionState::Queued) => {
                let target = self.agent(to).filter(|t| t.works(channel)).ok_or_else(|| AppError::BadRequest(format!("no agent {to:?} works this channel")))?;
                let load = store.agent_loads()?.into_iter().find(|(id, _)| id == to).map_or(0, |(_, n)| n);
                crate::rules::access::has_room(&target, load)?;
                self.publishing(|out| {
                    let row = store.assign(session, to, None)?.ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
                    state_changed(store, &row, SessionState::Queued, now_ms)?;
                    self.announce_assignment(store, &row, out)?;
                    Ok(row)
                })
            }
            (Actor::System(_), SessionState::Closed) => Err(AppError::AgentWrite(AgentWriteError::NotOpen)),
            (Actor::System(_), _) => Err(AppError::AgentWrite(AgentWriteError::NotAssigned)),
        }
    }

    /// Close over the API.
    ///
    /// # Errors
    /// `not_found`, `not_assigned` (an agent key on someone else's session), `session_not_open`.
    pub fn api_close(&self, store: &mut dyn Store, channel: &str, actor: &Actor, session: &str, to_bot: bool, now_ms: u64) -> R<SessionRow> {
        let row = self.channel_session(store, channel, session)?;
        if !row.is_open() {
            return Err(AppError::AgentWrite(AgentWriteError::NotOpen));
        }
        if to_bot {
            let who = match actor {
                Actor::Agent(a) => {
                    self.authorize(a, &row, crate::rules::access::AgentAction::Close)?;
                    a.clone()
                }
                Actor::System(key) => format!("api:{key}"),
            };
            return self.hand_back_to_bot(store, &who, session, now_ms);
        }
        match actor {
            Actor::Agent(a) => self.agent_close(store, a, session, now_ms)?,
            Actor::System(_) => {
                self.close(store, session, CloseReason::AgentClosed, now_ms)?;
            }
        }
        self.channel_session(store, channel, session)
    }

    /// Block the session's visitor over the API.
    ///
    /// # Errors
    /// As [`Core::block`].
    pub fn api_block(&self, store: &mut dyn Store, channel: &str, actor: &Actor, session: &str, days: u32, reason: &str, now_ms: u64) -> R<SessionRow> {
        let row = self.channel_session(store, channel, session)?;
        match actor {
            Actor::Agent(a) => self.block(store, a, session, days, reason, now_ms)?,
            Actor::System(key) => {
                let until = crate::rules::access::block_until(days, now_ms)?;
                store.block(&row.channel, &row.user_key, until, reason, &format!("api:{key}"))?;
                tracing::info!(channel = %row.channel, user_key = %row.user_key, days, key = %key, reason, "user blocked over the API");
                self.publishing(|out| self.close_blocked(store, &row, now_ms, out))?;
            }
        }
        self.channel_session(store, channel, session)
    }

    /// Outside bots: a session still with its outside bot whose visitor has waited
    /// `fallback_secs` for an answer goes to the queue (the bot endpoint is down or slow).
    ///
    /// # Errors
    /// Storage failures.
    pub fn bot_fallback(&self, store: &mut dyn Store, now_ms: u64, out: &mut crate::core::Events) -> R<()> {
        if self.config.counsel.bots.is_empty() {
            return Ok(());
        }
        for s in store.bot_sessions()? {
            let Some(bot) = self.outside_bot(&s) else { continue };
            let last = store.session_messages(&s.id, s.last_seq.saturating_sub(1), 1)?;
            if crate::rules::bot::outside_bot_overdue(last.first(), bot.fallback_secs, now_ms) {
                tracing::info!(session = %s.id, channel = %s.channel, "the outside bot did not answer; the session goes to the queue");
                self.hand_to_agents(store, &s, now_ms, out)?;
            }
        }
        Ok(())
    }
}

