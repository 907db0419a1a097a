//! The consult rules. Every operation runs on the storage thread as one closure, so the rules
//! that must be atomic (visitor speaks first, nothing after a close, one assignment) see a store
//! nobody else touches meanwhile, and events are published in stored order.

use std::collections::HashMap;
use std::sync::Arc;

use consult_sdk::EntryPoint;
use consult_sdk::protocol::{
    AgentEvent, AgentInfo, Body, ChatMessage, CloseReason, MenuOption, Sender, SessionState, VisitorEvent, check_text,
};

use crate::config::{AfterHours, BotAction, Channel, Config, FreeText};
use crate::error::AppError;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{AgentWriteError, ConversationRef, OpenAs, SessionMark, SessionRow, Store};
use crate::supervise::entry_label;

/// Closing notices, in Korean and English like the rest of the visitor's chat.
fn close_notice(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::VisitorLeft => "상담이 종료되었습니다. · The chat has ended.",
        CloseReason::Inactivity => "한동안 메시지가 없어 상담이 종료되었습니다. · The chat closed after a period without messages.",
        CloseReason::AgentClosed => "상담원이 상담을 종료했습니다. · The agent closed the chat.",
        CloseReason::HandedOff => "휴대폰으로 상담이 이어졌습니다. · The chat moved to a phone.",
        CloseReason::Blocked => "상담이 종료되었습니다. · The chat has ended.",
    }
}

/// What the periodic work remembers between ticks, so each notice goes out once.
#[derive(Debug, Default)]
pub struct TickMemory {
    /// Sessions told "quiet", with the visitor's last message time then.
    pub quiet_sent: HashMap<String, u64>,
    /// Sessions warned of the inactivity close, with their last message time then.
    pub warned: HashMap<String, u64>,
}

/// Shared, immutable parts the rules need.
#[derive(Clone)]
pub struct Core {
    /// Configuration.
    pub config: Arc<Config>,
    /// Connections.
    pub hub: Arc<Hub>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// True on the node that runs the once-per-cluster timed work (always, on a single node).
    pub leader: Arc<std::sync::atomic::AtomicBool>,
    /// Channels switched on or off at runtime (see [`crate::switches`]).
    pub switches: Arc<crate::switches::ChannelSwitches>,
    /// The agents now: the file's, with what admins changed (see [`crate::runtime`]).
    pub directory: Arc<crate::runtime::AgentDirectory>,
    /// The channels' hours, guidance and menus now: the file's, with what admins changed (see
    /// [`crate::settings`]).
    pub settings: Arc<crate::settings::ChannelSettings>,
}

type R<T> = Result<T, AppError>;

/// What an agent asks to do with a session: the one list [`Core::authorize`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    /// Read the session and its messages.
    View,
    /// Pick it from the queue.
    Take,
    /// Write into it, or show typing.
    Write,
    /// Hand it to another agent.
    Transfer,
    /// Close it.
    Close,
    /// Block its visitor.
    Block,
    /// Add an internal note (the assignee, or a supervisor).
    Note,
    /// Follow its messages read-only (supervisors).
    Watch,
    /// Give it to another agent or take it over, queued or assigned (supervisors).
    Reassign,
}

impl Core {
    fn channel(&self, id: &str) -> R<Arc<Channel>> {
        self.live_channel(id).ok_or_else(|| AppError::UnknownChannel(id.into()))
    }

    fn agent_name(&self, id: &str) -> String {
        self.agent(id).map(|a| a.name.clone()).unwrap_or_else(|| id.into())
    }

    /// The one check every agent action on a session passes: the agent exists, works the
    /// session's channel (another channel's sessions look like no session at all), and the role
    /// allows the action (the assignee, or a supervisor of that channel, for transfer, close and
    /// block; the assignee only, for writing).
    ///
    /// # Errors
    /// `unauthorized`, `not_found`, `not_assigned`.
    pub fn authorize(&self, agent: &str, session: &SessionRow, action: AgentAction) -> R<Arc<crate::config::Agent>> {
        let me = self.agent(agent).ok_or(AppError::Unauthorized)?;
        if !me.works(&session.channel) {
            return Err(AppError::NotFound);
        }
        let assignee = session.agent.as_deref() == Some(agent);
        let allowed = match action {
            AgentAction::View | AgentAction::Take => true,
            AgentAction::Write => assignee,
            AgentAction::Transfer | AgentAction::Close | AgentAction::Block | AgentAction::Note => assignee || me.role.supervises(),
            AgentAction::Watch | AgentAction::Reassign => {
                if !me.role.supervises() {
                    return Err(AppError::Forbidden(format!("{action:?} needs the supervisor or admin role").to_lowercase()));
                }
                true
            }
        };
        if allowed { Ok(me) } else { Err(AppError::AgentWrite(AgentWriteError::NotAssigned)) }
    }

    /// A session an agent may act on.
    ///
    /// # Errors
    /// As [`Core::authorize`]; `not_found` for an unknown session.
    pub fn session_for(&self, store: &mut dyn Store, agent: &str, session: &str, action: AgentAction) -> R<SessionRow> {
        let row = store.session(session)?.ok_or(AppError::NotFound)?;
        self.authorize(agent, &row, action)?;
        Ok(row)
    }

    /// Position in its channel's queue, 1 = next.
    fn queue_position(&self, store: &mut dyn Store, session: &SessionRow) -> R<Option<u32>> {
        if session.state != SessionState::Queued {
            return Ok(None);
        }
        let queued = store.queued()?;
        let ahead = queued.iter().filter(|s| s.channel == session.channel).position(|s| s.id == session.id);
        Ok(ahead.map(|i| i as u32 + 1))
    }

    /// The visitor's view of a session's state.
    pub fn state_event(&self, store: &mut dyn Store, session: &SessionRow) -> R<VisitorEvent> {
        Ok(VisitorEvent::State {
            state: session.state,
            queue_position: self.queue_position(store, session)?,
            agent_name: session.agent.as_deref().map(|a| self.agent_name(a)),
            reason: session.close_reason,
        })
    }

    /// Answer to a visitor's `hello`.
    pub fn welcome(&self, store: &mut dyn Store, conversation: &str) -> R<VisitorEvent> {
        let (session, last_seq) = store.conversation_state(conversation)?;
        Ok(match session {
            Some(s) if s.is_open() => VisitorEvent::Welcome {
                state: s.state,
                queue_position: self.queue_position(store, &s)?,
                agent_name: s.agent.as_deref().map(|a| self.agent_name(a)),
                last_seq,
            },
            // No open session: the next visitor message opens one.
            _ => VisitorEvent::Welcome { state: SessionState::Waiting, queue_position: None, agent_name: None, last_seq },
        })
    }

    fn publish_message(&self, conversation: &str, session: Option<&SessionRow>, message: &ChatMessage) {
        self.hub.to_visitors(conversation, &VisitorEvent::Message { message: message.clone() });
        if let Some(s) = session {
            let event = AgentEvent::Message { session: s.id.clone(), message: message.clone() };
            if let Some(agent) = &s.agent {
                self.hub.to_agent(agent, &event);
            }
            self.hub.to_watchers(&s.id, s.agent.as_deref(), &event);
        }
    }

    /// Tells agents who work the channel that a session changed (queue, assignment, close).
    pub(crate) fn publish_session(&self, session: &SessionRow) {
        let event = AgentEvent::Session { session: session.summary() };
        for agent in self.hub.online_agents() {
            let works = self.agent(&agent).is_some_and(|a| a.works(&session.channel));
            if works {
                self.hub.to_agent(&agent, &event);
            }
        }
    }

    pub(crate) fn system(&self, store: &mut dyn Store, conversation: &str, sender: Sender, body: Body, now_ms: u64) -> R<ChatMessage> {
        let message = store.system_write(conversation, &sender, &body, now_ms)?;
        let (session, _) = store.conversation_state(conversation)?;
        self.publish_message(conversation, session.as_ref().filter(|s| s.is_open()), &message);
        if let Some(s) = session.as_ref().filter(|s| s.is_open()) {
            crate::counsel::message_created(store, s, &message, now_ms)?;
        }
        Ok(message)
    }

    fn menu_body(channel: &Channel) -> Option<Body> {
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

    /// Checks a visitor or agent body and fills image/file details from the stored upload.
    pub fn check_body(&self, store: &mut dyn Store, body: Body, conversation: Option<&str>, agent: Option<&str>) -> R<Body> {
        match body {
            Body::Text { text } => {
                check_text(&text).map_err(AppError::Message)?;
                Ok(Body::Text { text })
            }
            Body::Image { attachment, .. } | Body::File { attachment, .. } => {
                let a = store.attachment(&attachment)?.ok_or_else(|| AppError::BadRequest("unknown attachment".into()))?;
                let owned = match (conversation, agent) {
                    (Some(c), _) => a.conversation.as_deref() == Some(c),
                    (None, Some(ag)) => a.agent.as_deref() == Some(ag),
                    _ => false,
                };
                if !owned {
                    return Err(AppError::BadRequest("unknown attachment".into()));
                }
                let size = a.size;
                Ok(if a.mime.starts_with("image/") {
                    Body::Image { attachment: a.id, mime: a.mime, size }
                } else {
                    Body::File { attachment: a.id, name: a.name, mime: a.mime, size }
                })
            }
            Body::Menu { .. } | Body::Cards { .. } => Err(AppError::BadRequest("menus and cards come from the bot only".into())),
        }
    }

    /// A visitor message: opens a session when none is open (the visitor speaks first), runs
    /// the bot or queues, and routes. Returns the stored seq.
    pub fn visitor_send(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        Ok(self.visitor_write(store, conv, client_id, body, None, now_ms)?.0)
    }

    /// `tapped`: `None` when the visitor typed it, else the menu option whose label it records.
    fn visitor_write(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, tapped: Option<&str>, now_ms: u64) -> R<(u64, bool)> {
        let typed = tapped.is_none();
        check_client_id(client_id)?;
        let channel = self.channel(&conv.channel)?;
        if store.is_blocked(&conv.channel, &conv.user_key, now_ms)? {
            return Err(AppError::Blocked);
        }
        let body = self.check_body(store, body, Some(&conv.id), None)?;
        let now = now_ms / 1000;
        let open_now = channel.hours.as_ref().is_none_or(|h| h.is_open(now));
        // Only after hours does it matter whether a session is open (reading it costs a query per message).
        if !open_now && let Some(h) = channel.hours.as_ref().filter(|h| h.after_hours == AfterHours::Refuse) {
            let (current, _) = store.conversation_state(&conv.id)?;
            if !current.as_ref().is_some_and(SessionRow::is_open) {
                return Err(AppError::ClosedAfterHours(h.reply(now)));
            }
        }
        let open_as = if (channel.bot.is_some() || self.config.counsel.bot(&channel.id).is_some()) && open_now { OpenAs::Bot } else { OpenAs::Queued(None) };
        let write = store.visitor_write(&conv.id, client_id, &body, &open_as, now_ms)?;
        if write.duplicate {
            return Ok((write.message.seq, true));
        }
        self.metrics.message("visitor");
        self.publish_message(&conv.id, Some(&write.session), &write.message);
        crate::counsel::visitor_wrote(store, &write.session, write.opened, &write.message, tapped, now_ms)?;
        if write.opened {
            self.metrics.session_opened();
            store.mark_session(&write.session.id, &SessionMark::Opened { entry: entry_label(&write.session) }, now_ms)?;
            if write.session.state == SessionState::Queued {
                store.mark_session(&write.session.id, &SessionMark::Queued, now_ms)?;
            }
            let bot_runs = typed && write.session.state == SessionState::Bot && self.menu_answers(&channel, &write.session);
            if !bot_runs && !open_now && let Some(h) = &channel.hours {
                self.system(store, &conv.id, Sender::System, Body::Text { text: h.reply(now) }, now_ms)?;
            }
            self.hub.to_visitors(&conv.id, &self.state_event(store, &write.session)?);
            self.publish_session(&write.session);
            if bot_runs {
                self.bot_free_text(store, &channel, &write.session, &body, true, now_ms)?;
            }
            self.route(store, now_ms)?;
        } else if typed && write.session.state == SessionState::Bot && self.menu_answers(&channel, &write.session) {
            // Typing instead of choosing: an FAQ answer when one matches, else a person.
            self.bot_free_text(store, &channel, &write.session, &body, false, now_ms)?;
        } else if write.session.state == SessionState::Queued {
            // Nobody has it yet: refresh the queue entry's preview for every agent.
            self.publish_session(&write.session);
        }
        Ok((write.message.seq, false))
    }

    pub(crate) fn enqueue(&self, store: &mut dyn Store, session: &SessionRow, category: Option<&str>, now_ms: u64) -> R<()> {
        if let Some(s) = store.queue_session(&session.id, category, now_ms)? {
            store.mark_session(&s.id, &SessionMark::Queued, now_ms)?;
            crate::counsel::state_changed(store, &s, SessionState::Bot, now_ms)?;
            let channel = self.channel(&s.channel)?;
            if let Some(h) = channel.hours.as_ref().filter(|h| !h.is_open(now_ms / 1000)) {
                self.system(store, &s.conversation, Sender::System, Body::Text { text: h.message.clone() }, now_ms)?;
            }
            self.hub.to_visitors(&s.conversation, &self.state_event(store, &s)?);
            self.publish_session(&s);
            self.route(store, now_ms)?;
        }
        Ok(())
    }

    /// A bot menu choice: recorded as the visitor's message, then answered, linked or queued.
    pub fn visitor_choose(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, option: &str, now_ms: u64) -> R<u64> {
        let channel = self.channel(&conv.channel)?;
        let built_in = channel.bot.as_ref().and_then(|bot| bot.options.iter().find(|o| o.id == option));
        let Some(choice) = built_in else {
            // A button an outside bot sent over the API: the tap is the label, as a message.
            let label = self.outside_bot_option(store, conv, option)?.ok_or_else(|| AppError::BadRequest(format!("no menu option {option:?}")))?;
            return self.visitor_write(store, conv, client_id, Body::Text { text: label }, Some(option), now_ms).map(|(seq, _)| seq);
        };
        let (before, _) = store.conversation_state(&conv.id)?;
        let was_bot = before.as_ref().is_none_or(|s| !s.is_open() || s.state == SessionState::Bot);
        let (seq, duplicate) = self.visitor_write(store, conv, client_id, Body::Text { text: choice.label.clone() }, Some(option), now_ms)?;
        let (session, _) = store.conversation_state(&conv.id)?;
        let Some(session) = session.filter(|s| s.state == SessionState::Bot && was_bot && !duplicate) else { return Ok(seq) };
        match &choice.action {
            BotAction::Answer(text) => {
                self.system(store, &conv.id, Sender::Bot, Body::Text { text: text.clone() }, now_ms)?;
                if let Some(menu) = Self::menu_body(&channel) {
                    self.system(store, &conv.id, Sender::Bot, menu, now_ms)?;
                }
            }
            BotAction::Link(_) => {}
            BotAction::Queue(category) => self.enqueue(store, &session, Some(category), now_ms)?,
        }
        Ok(seq)
    }

    /// The label of `option` in the latest bot menu of the open session still with the bot.
    fn outside_bot_option(&self, store: &mut dyn Store, conv: &ConversationRef, option: &str) -> R<Option<String>> {
        let (session, _) = store.conversation_state(&conv.id)?;
        let Some(session) = session.filter(|s| s.state == SessionState::Bot) else { return Ok(None) };
        let recent = store.session_messages(&session.id, session.last_seq.saturating_sub(20), 20)?;
        // The latest bot message with buttons: a menu, or a card list (any card's buttons).
        let offered = recent.iter().rev().find_map(|m| match (&m.sender, &m.body) {
            (Sender::Bot, Body::Menu { options, .. }) => Some(options.iter().collect::<Vec<_>>()),
            (Sender::Bot, Body::Cards { cards, .. }) => Some(cards.iter().flat_map(|c| &c.options).collect()),
            _ => None,
        });
        Ok(offered.and_then(|options| options.into_iter().find(|o| o.id == option)).map(|o| o.label.clone()))
    }

    /// The visitor's page changed mid-chat: the declared (unverified) page is recorded on the open
    /// session, apart from its launch context, and agents who can see the session get it again.
    /// Nothing changes without an open session or when the page is the same.
    pub fn visitor_context(&self, store: &mut dyn Store, conv: &ConversationRef, declared: &EntryPoint) -> R<()> {
        declared.validate().map_err(|e| AppError::BadRequest(format!("declared entry point: {e}")))?;
        let Some(page) = declared.page.as_deref() else { return Ok(()) };
        let (session, _) = store.conversation_state(&conv.id)?;
        let Some(session) = session.filter(|s| s.is_open() && s.current_page.as_deref() != Some(page)) else { return Ok(()) };
        if let Some(row) = store.set_current_page(&session.id, Some(page))? {
            crate::counsel::page_changed(store, &row, crate::now_ms())?;
            self.publish_session(&row);
        }
        Ok(())
    }

    /// Assigns queued sessions to the least-loaded available agent with the category's skill.
    pub fn route(&self, store: &mut dyn Store, now_ms: u64) -> R<()> {
        let queued = store.queued()?;
        if queued.is_empty() {
            return Ok(());
        }
        let mut loads: HashMap<String, u32> = store.agent_loads()?.into_iter().collect();
        let mut assigned_any = false;
        for session in &queued {
            let channel = self.channel(&session.channel)?;
            if channel.hours.as_ref().is_some_and(|h| !h.is_open(now_ms / 1000)) {
                continue;
            }
            let best = self
                .agents()
                .into_iter()
                .filter(|a| a.works(&session.channel) && self.hub.is_available(&a.id))
                .filter(|a| session.category.as_ref().is_none_or(|c| a.skills.contains(c)))
                .filter(|a| loads.get(&a.id).copied().unwrap_or(0) < a.max_chats)
                .min_by_key(|a| (loads.get(&a.id).copied().unwrap_or(0), a.id.clone()));
            // Counted again under the agent's lock: another node may have assigned meanwhile.
            if let Some(agent) = best
                && store.agent_load_locked(&agent.id)? < agent.max_chats
                && let Some(row) = store.assign(&session.id, &agent.id, None)?
            {
                *loads.entry(agent.id.clone()).or_default() += 1;
                crate::counsel::state_changed(store, &row, SessionState::Queued, now_ms)?;
                self.announce_assignment(store, &row)?;
                assigned_any = true;
            }
        }
        if assigned_any {
            // Everyone still waiting moved up.
            for s in store.queued()? {
                self.hub.to_visitors(&s.conversation, &self.state_event(store, &s)?);
            }
        }
        Ok(())
    }

    pub(crate) fn announce_assignment(&self, store: &mut dyn Store, row: &SessionRow) -> R<()> {
        store.mark_session(&row.id, &SessionMark::Assigned, crate::now_ms())?;
        self.hub.to_visitors(&row.conversation, &self.state_event(store, row)?);
        self.publish_session(row);
        Ok(())
    }

    /// An agent message, stored only into an open session assigned to that agent.
    pub fn agent_send(&self, store: &mut dyn Store, agent: &str, session: &str, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        check_client_id(client_id)?;
        // Channel and role here; "open and assigned to you" in the store's transaction.
        let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
        let me = self.agent(agent).ok_or(AppError::Unauthorized)?;
        if !me.works(&row.channel) {
            return Err(AppError::NotFound);
        }
        let body = match self.check_body(store, body.clone(), None, Some(agent)) {
            Ok(b) => b,
            // An agent may also send back one of the visitor's own uploads.
            Err(AppError::BadRequest(m)) if matches!(body, Body::Image { .. } | Body::File { .. }) => {
                let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
                self.check_body(store, body, Some(&row.conversation), None).map_err(|_| AppError::BadRequest(m))?
            }
            Err(e) => return Err(e),
        };
        let name = self.agent_name(agent);
        let (conversation, message) = store.agent_write(session, agent, &name, client_id, &body, now_ms)??;
        crate::counsel::message_created(store, &row, &message, now_ms)?;
        self.metrics.message("agent");
        self.hub.to_visitors(&conversation, &VisitorEvent::Message { message: message.clone() });
        let event = AgentEvent::Message { session: session.into(), message: message.clone() };
        self.hub.to_agent(agent, &event);
        self.hub.to_watchers(session, Some(agent), &event);
        store.mark_session(session, &SessionMark::FirstReply, now_ms)?;
        Ok(message.seq)
    }

    /// Closes a session (any reason) and frees the agent's slot.
    pub fn close(&self, store: &mut dyn Store, session: &str, reason: CloseReason, now_ms: u64) -> R<bool> {
        let before = store.session(session)?.map_or(SessionState::Closed, |r| r.state);
        let Some((row, notice)) = store.close_session(session, reason, close_notice(reason), now_ms)? else { return Ok(false) };
        crate::counsel::message_created(store, &row, &notice, now_ms)?;
        crate::counsel::state_changed(store, &row, before, now_ms)?;
        self.metrics.session_closed();
        self.hub.to_visitors(&row.conversation, &VisitorEvent::Message { message: notice.clone() });
        self.hub.to_visitors(&row.conversation, &self.state_event(store, &row)?);
        let event = AgentEvent::Message { session: row.id.clone(), message: notice };
        if let Some(a) = &row.agent {
            self.hub.to_agent(a, &event);
        }
        self.hub.to_watchers(&row.id, row.agent.as_deref(), &event);
        self.publish_session(&row);
        self.route(store, now_ms)?;
        Ok(true)
    }

    /// Manual pick from the queue, within the agent's limit (supervisors may exceed it).
    pub fn take(&self, store: &mut dyn Store, agent: &str, session: &str) -> R<SessionRow> {
        let row = self.session_for(store, agent, session, AgentAction::Take)?;
        let a = self.authorize(agent, &row, AgentAction::Take)?;
        let load = store.agent_load_locked(agent)?;
        if load >= a.max_chats && !a.role.supervises() {
            return Err(AppError::AgentFull(a.name.clone()));
        }
        let row = store.assign(session, agent, None)?.ok_or_else(|| {
            if row.is_open() { AppError::AgentWrite(AgentWriteError::NotAssigned) } else { AppError::AgentWrite(AgentWriteError::NotOpen) }
        })?;
        crate::counsel::state_changed(store, &row, SessionState::Queued, crate::now_ms())?;
        self.announce_assignment(store, &row)?;
        Ok(row)
    }

    /// Hands an assigned session to another agent.
    pub fn transfer(&self, store: &mut dyn Store, agent: &str, session: &str, to: &str, now_ms: u64) -> R<SessionRow> {
        let row = self.session_for(store, agent, session, AgentAction::Transfer)?;
        let target = self.agent(to).ok_or_else(|| AppError::BadRequest(format!("no agent {to:?}")))?;
        if !row.is_open() {
            return Err(AppError::AgentWrite(AgentWriteError::NotOpen));
        }
        let from = row.agent.clone().ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
        if !target.works(&row.channel) {
            return Err(AppError::BadRequest(format!("{} does not work this channel", target.name)));
        }
        let load = store.agent_load_locked(to)?;
        if load >= target.max_chats {
            return Err(AppError::AgentFull(target.name.clone()));
        }
        let row = store.assign(session, to, Some(&from))?.ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
        store.mark_session(session, &SessionMark::Transfer, now_ms)?;
        crate::counsel::state_changed(store, &row, SessionState::Assigned, now_ms)?;
        self.audit(store, agent, "transfer", Some(&row.channel), Some(session), &format!("from {from} to {to}"), now_ms)?;
        let notice = format!("{}님에게 상담이 전달되었습니다. · You are now chatting with {}.", target.name, target.name);
        self.system(store, &row.conversation, Sender::System, Body::Text { text: notice }, now_ms)?;
        self.announce_assignment(store, &row)?;
        // The previous agent drops it from their chats.
        self.hub.to_agent(&from, &AgentEvent::Session { session: row.summary() });
        Ok(row)
    }

    /// An agent closes a session.
    pub fn agent_close(&self, store: &mut dyn Store, agent: &str, session: &str, now_ms: u64) -> R<()> {
        let row = self.session_for(store, agent, session, AgentAction::Close)?;
        if self.close(store, session, CloseReason::AgentClosed, now_ms)? {
            self.audit(store, agent, "close", Some(&row.channel), Some(session), "closed by an agent", now_ms)?;
        }
        Ok(())
    }

    /// The agent's part ends and the bot takes the chat again (the seed's "end with the bot"):
    /// the session stays open with the bot, the agent's slot frees, the visitor is told and
    /// sees the bot's menu again (an outside bot hears `session.state_changed` to `bot`).
    ///
    /// # Errors
    /// `session_not_open` when it is not with an agent or queued.
    pub fn hand_back_to_bot(&self, store: &mut dyn Store, actor: &str, session: &str, now_ms: u64) -> R<SessionRow> {
        let before = store.session(session)?.ok_or(AppError::NotFound)?;
        let row = store.return_to_bot(session)?.ok_or(AppError::AgentWrite(AgentWriteError::NotOpen))?;
        crate::counsel::state_changed(store, &row, before.state, now_ms)?;
        self.audit(store, actor, "hand_back_to_bot", Some(&row.channel), Some(session), "", now_ms)?;
        let text = "상담원 상담이 끝났어요. 챗봇이 이어서 도와드릴게요. · The agent has finished; the assistant takes it from here.";
        self.system(store, &row.conversation, Sender::System, Body::Text { text: text.into() }, now_ms)?;
        // The built-in menu again, unless the session belongs to an outside bot (it hears the
        // state change and answers itself).
        let channel = self.channel(&row.channel)?;
        if self.menu_answers(&channel, &row)
            && let Some(menu) = Self::menu_body(&channel)
        {
            self.system(store, &row.conversation, Sender::Bot, menu, now_ms)?;
        }
        self.hub.to_visitors(&row.conversation, &self.state_event(store, &row)?);
        self.publish_session(&row);
        if let Some(agent) = &before.agent {
            self.hub.to_agent(agent, &AgentEvent::Session { session: row.summary() });
        }
        Ok(row)
    }

    /// Blocks the session's user key for `days`, closes the session and ends the visitor's open
    /// sockets at once; every later use of their handles is refused as `blocked`.
    pub fn block(&self, store: &mut dyn Store, agent: &str, session: &str, days: u32, reason: &str, now_ms: u64) -> R<()> {
        let row = self.session_for(store, agent, session, AgentAction::Block)?;
        if !(1..=3650).contains(&days) {
            return Err(AppError::BadRequest("block for 1 to 3650 days".into()));
        }
        let until = now_ms + u64::from(days) * 86_400_000;
        store.block(&row.channel, &row.user_key, until, reason, agent)?;
        self.audit(store, agent, "block", Some(&row.channel), Some(&row.user_key), &format!("{days} days: {reason}"), now_ms)?;
        tracing::info!(channel = %row.channel, user_key = %row.user_key, days, agent, reason, "user blocked");
        self.close(store, session, CloseReason::Blocked, now_ms)?;
        let body = AppError::Blocked.body();
        self.hub.end_conversation(&row.conversation, &VisitorEvent::Error { code: body.code, message: body.message, client_id: None });
        Ok(())
    }

    /// Periodic work: inactivity closes, quiet notices, queue moves when the desk opens.
    pub fn tick(&self, store: &mut dyn Store, now_ms: u64, memory: &mut TickMemory) -> R<()> {
        // Every node: a switch or an agent another node (or a restart) stored.
        self.switches.replace(store.channel_switches()?);
        self.reload_agents(store)?;
        self.reload_channel_settings(store)?;
        // Once per cluster: only the node holding the lease closes and times out.
        if self.leader.load(std::sync::atomic::Ordering::SeqCst) {
            self.bot_fallback(store, now_ms)?;
            let mut warned = HashMap::new();
            for channel in &self.config.channels {
                let before = now_ms.saturating_sub(channel.inactivity_secs * 1000);
                for s in store.stale_sessions(&channel.id, before)? {
                    self.close(store, &s.id, CloseReason::Inactivity, now_ms)?;
                }
                // A little before the close, the visitor is told once (per silence).
                let warn_secs = (channel.inactivity_secs / 4).clamp(1, 60);
                for s in store.stale_sessions(&channel.id, before + warn_secs * 1000)? {
                    if memory.warned.get(&s.id) != Some(&s.last_ms) {
                        let secs = (s.last_ms + channel.inactivity_secs * 1000).saturating_sub(now_ms).div_ceil(1000);
                        self.hub.to_visitors(&s.conversation, &VisitorEvent::Closing { secs: secs.max(1) as u32 });
                    }
                    warned.insert(s.id.clone(), s.last_ms);
                }
            }
            memory.warned = warned;
        }
        let quiet_sent = &mut memory.quiet_sent;
        let quiet_ms = self.config.quiet_after_secs * 1000;
        let mut still_assigned = HashMap::new();
        // Each node tells its own agents.
        for agent in self.hub.local_online_agents() {
            for s in store.agent_sessions(&agent)? {
                if now_ms.saturating_sub(s.last_visitor_ms) >= quiet_ms && quiet_sent.get(&s.id) != Some(&s.last_visitor_ms) {
                    self.hub.to_agent(&agent, &AgentEvent::Quiet { session: s.id.clone() });
                    still_assigned.insert(s.id.clone(), s.last_visitor_ms);
                } else if let Some(v) = quiet_sent.get(&s.id) {
                    still_assigned.insert(s.id.clone(), *v);
                }
            }
        }
        *quiet_sent = still_assigned;
        self.route(store, now_ms)
    }

    /// A message the visitor typed while the bot runs. An FAQ answer whose keyword it contains
    /// answers it (and the menu follows); words asking for a person, an attachment, or no match
    /// go to the channel's choice: queue at once, or — for the first message only — say no
    /// answer was found and offer the menu with its agent option (the next typed message queues).
    fn bot_free_text(&self, store: &mut dyn Store, channel: &Channel, session: &SessionRow, body: &Body, first: bool, now_ms: u64) -> R<()> {
        let Some(bot) = channel.bot.as_ref() else { return Ok(()) };
        let text = match body {
            Body::Text { text } => text.to_lowercase(),
            _ => String::new(),
        };
        let wants_person = PERSON_WORDS.iter().any(|w| text.contains(w));
        let answer = bot.options.iter().find_map(|o| match &o.action {
            BotAction::Answer(a) if !wants_person && o.keywords.iter().any(|k| text.contains(k.as_str())) => Some(a.clone()),
            _ => None,
        });
        let conv = session.conversation.as_str();
        if let Some(answer) = answer {
            self.system(store, conv, Sender::Bot, Body::Text { text: answer }, now_ms)?;
            let more = "다른 도움이 필요하면 아래에서 고르거나 상담원 연결을 눌러 주세요. · Need more? Pick below or talk to an agent.";
            if let Some(Body::Menu { options, .. }) = Self::menu_body(channel) {
                self.system(store, conv, Sender::Bot, Body::Menu { text: more.into(), options }, now_ms)?;
            }
            return Ok(());
        }
        if bot.free_text == FreeText::Offer && first && !wants_person {
            let offer = "바로 답할 수 있는 내용을 찾지 못했어요. 아래에서 고르거나 상담원 연결을 눌러 주세요. · I couldn't find an answer to that. Pick a topic below or talk to an agent.";
            if let Some(Body::Menu { options, .. }) = Self::menu_body(channel) {
                self.system(store, conv, Sender::Bot, Body::Menu { text: offer.into(), options }, now_ms)?;
            }
            return Ok(());
        }
        let handing = "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요. · Connecting you to an agent; they will see your message.";
        self.system(store, conv, Sender::Bot, Body::Text { text: handing.into() }, now_ms)?;
        self.enqueue(store, session, None, now_ms)
    }

    /// Sends every desk the agents' availability (after a sign-in, a sign-out or a switch).
    pub fn publish_presence(&self) {
        let event = AgentEvent::Presence { agents: self.agent_infos() };
        for agent in self.hub.online_agents() {
            self.hub.to_agent(&agent, &event);
        }
    }

    /// What a desk learns after `welcome`: role, capacity and (supervisors) chats with the bot.
    pub fn profile(&self, store: &mut dyn Store, agent: &str) -> R<AgentEvent> {
        let a = self.agent(agent).ok_or(AppError::Unauthorized)?;
        let supervisor = a.role.supervises();
        let with_bot = if supervisor {
            store.bot_sessions()?.into_iter().filter(|s| a.works(&s.channel)).map(|s| s.summary()).collect()
        } else {
            Vec::new()
        };
        Ok(AgentEvent::Profile { role: a.role.as_str().into(), max_chats: a.max_chats, with_bot })
    }

    fn agent_channels(&self, agent: &str) -> R<Vec<String>> {
        let a = self.agent(agent).ok_or(AppError::Unauthorized)?;
        Ok(self.config.channels.iter().filter(|c| a.works(&c.id)).map(|c| c.id.clone()).collect())
    }

    /// Sessions of the agent's channels matching a user key, member id or name, tag or text.
    pub fn search(&self, store: &mut dyn Store, agent: &str, query: &str) -> R<AgentEvent> {
        let q = query.trim();
        if q.chars().count() < 2 || q.len() > 200 {
            return Err(AppError::BadRequest("search for 2 to 200 characters".into()));
        }
        let channels = self.agent_channels(agent)?;
        let sessions = store.search(&channels, q, 50)?.into_iter().map(|s| s.summary()).collect();
        Ok(AgentEvent::SearchResults { query: query.into(), sessions })
    }

    /// A session's tags, for an agent who works its channel.
    pub fn tags(&self, store: &mut dyn Store, agent: &str, session: &str) -> R<AgentEvent> {
        let row = store.session(session)?.ok_or(AppError::NotFound)?;
        if !self.agent_channels(agent)?.contains(&row.channel) {
            return Err(AppError::NotFound);
        }
        Ok(AgentEvent::Tags { session: session.into(), tags: store.tags(session)? })
    }

    /// Replaces a session's tags (trimmed, lowercase, unique, at most 10 of 1-32 characters) and
    /// tells every desk that works its channel.
    pub fn set_tags(&self, store: &mut dyn Store, agent: &str, session: &str, tags: &[String]) -> R<()> {
        let row = store.session(session)?.ok_or(AppError::NotFound)?;
        if !self.agent_channels(agent)?.contains(&row.channel) {
            return Err(AppError::NotFound);
        }
        let mut clean: Vec<String> = Vec::new();
        for t in tags {
            let t = t.trim().trim_start_matches('#').to_lowercase();
            if t.is_empty() || clean.contains(&t) {
                continue;
            }
            if t.chars().count() > 32 || t.chars().any(char::is_control) {
                return Err(AppError::BadRequest(format!("tag {t:?}: at most 32 characters, no control characters")));
            }
            clean.push(t);
        }
        if clean.len() > 10 {
            return Err(AppError::BadRequest("at most 10 tags a session".into()));
        }
        store.set_tags(session, &clean)?;
        let event = AgentEvent::Tags { session: session.into(), tags: clean };
        for a in self.hub.online_agents() {
            if self.agent(&a).is_some_and(|x| x.works(&row.channel)) {
                self.hub.to_agent(&a, &event);
            }
        }
        Ok(())
    }

    /// Blocks in force on the agent's channels.
    pub fn blocks(&self, store: &mut dyn Store, agent: &str, now_ms: u64) -> R<AgentEvent> {
        let channels = self.agent_channels(agent)?;
        Ok(AgentEvent::Blocks { blocks: store.blocks(&channels, now_ms)? })
    }

    /// Lifts a user key's blocks on a channel: a supervisor, or the agent who blocked.
    pub fn unblock(&self, store: &mut dyn Store, agent: &str, channel: &str, user_key: &str, now_ms: u64) -> R<AgentEvent> {
        let a = self.agent(agent).ok_or(AppError::Unauthorized)?;
        if !a.works(channel) {
            return Err(AppError::NotFound);
        }
        let mine = store.blocks(&[channel.to_string()], now_ms)?.iter().filter(|b| b.user_key == user_key).all(|b| b.agent == agent);
        if !a.role.supervises() && !mine {
            return Err(AppError::AgentWrite(AgentWriteError::NotAssigned));
        }
        let n = store.unblock(channel, user_key)?;
        self.audit(store, agent, "unblock", Some(channel), Some(user_key), &format!("{n} lifted"), now_ms)?;
        tracing::info!(channel, user_key, agent, lifted = n, "user unblocked");
        self.blocks(store, agent, now_ms)
    }

    /// Other agents for the transfer list.
    pub fn agent_infos(&self) -> Vec<AgentInfo> {
        self.agents()
            .iter()
            .map(|a| AgentInfo { id: a.id.clone(), name: a.name.clone(), available: self.hub.is_available(&a.id) })
            .collect()
    }
}

/// Words in a typed message that ask for a person rather than an FAQ answer.
const PERSON_WORDS: &[&str] = &["상담원", "상담사", "사람", "직원", "agent", "human", "person", "someone"];

fn check_client_id(id: &str) -> R<()> {
    if id.is_empty() || id.len() > consult_sdk::protocol::MAX_CLIENT_ID_LEN {
        return Err(AppError::BadRequest(format!(
            "client_id must be 1 to {} bytes",
            consult_sdk::protocol::MAX_CLIENT_ID_LEN
        )));
    }
    Ok(())
}
