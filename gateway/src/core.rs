//! The consult rules. Every operation runs on the storage thread as one closure, so the rules
//! that must be atomic (visitor speaks first, nothing after a close, one assignment) see a store
//! nobody else touches meanwhile, and events are published in stored order.

use std::collections::HashMap;
use std::sync::Arc;

use consult_sdk::EntryPoint;
use consult_sdk::protocol::{
    AgentEvent, AgentInfo, Body, ChatMessage, CloseReason, MenuOption, Sender, SessionState, VisitorEvent, check_text,
};

use crate::config::{AfterHours, BotAction, Channel, Config, Role};
use crate::error::AppError;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{AgentWriteError, ConversationRef, OpenAs, SessionRow, Store};

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

/// Shared, immutable parts the rules need.
#[derive(Clone)]
pub struct Core {
    /// Configuration.
    pub config: Arc<Config>,
    /// Connections.
    pub hub: Arc<Hub>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

type R<T> = Result<T, AppError>;

impl Core {
    fn channel(&self, id: &str) -> R<&Channel> {
        self.config.channel(id).ok_or_else(|| AppError::UnknownChannel(id.into()))
    }

    fn agent_name(&self, id: &str) -> String {
        self.config.agent(id).map(|a| a.name.clone()).unwrap_or_else(|| id.into())
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
        if let Some(s) = session
            && let Some(agent) = &s.agent
        {
            self.hub.to_agent(agent, &AgentEvent::Message { session: s.id.clone(), message: message.clone() });
        }
    }

    /// Tells agents who work the channel that a session changed (queue, assignment, close).
    fn publish_session(&self, session: &SessionRow) {
        let event = AgentEvent::Session { session: session.summary() };
        for agent in self.hub.online_agents() {
            let works = self.config.agent(&agent).is_some_and(|a| a.works(&session.channel));
            if works {
                self.hub.to_agent(&agent, &event);
            }
        }
    }

    fn system(&self, store: &mut dyn Store, conversation: &str, sender: Sender, body: Body, now_ms: u64) -> R<ChatMessage> {
        let message = store.system_write(conversation, &sender, &body, now_ms)?;
        let (session, _) = store.conversation_state(conversation)?;
        self.publish_message(conversation, session.as_ref().filter(|s| s.is_open()), &message);
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
                let size = a.data.len() as u64;
                Ok(if a.mime.starts_with("image/") {
                    Body::Image { attachment: a.id, mime: a.mime, size }
                } else {
                    Body::File { attachment: a.id, name: a.name, mime: a.mime, size }
                })
            }
            Body::Menu { .. } => Err(AppError::BadRequest("menus come from the bot only".into())),
        }
    }

    /// A visitor message: opens a session when none is open (the visitor speaks first), runs
    /// the bot or queues, and routes. Returns the stored seq.
    pub fn visitor_send(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        Ok(self.visitor_write(store, conv, client_id, body, true, now_ms)?.0)
    }

    /// `typed`: written by the visitor, not a menu choice recorded as text.
    fn visitor_write(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, typed: bool, now_ms: u64) -> R<(u64, bool)> {
        check_client_id(client_id)?;
        let channel = self.channel(&conv.channel)?.clone();
        let body = self.check_body(store, body, Some(&conv.id), None)?;
        let now = now_ms / 1000;
        let open_now = channel.hours.as_ref().is_none_or(|h| h.is_open(now));
        let (current, _) = store.conversation_state(&conv.id)?;
        let has_open = current.as_ref().is_some_and(SessionRow::is_open);
        if !has_open && !open_now && let Some(h) = channel.hours.as_ref().filter(|h| h.after_hours == AfterHours::Refuse) {
            return Err(AppError::ClosedAfterHours(h.message.clone()));
        }
        let open_as = if channel.bot.is_some() && open_now { OpenAs::Bot } else { OpenAs::Queued(None) };
        let write = store.visitor_write(&conv.id, client_id, &body, &open_as, now_ms)?;
        if write.duplicate {
            return Ok((write.message.seq, true));
        }
        self.metrics.message("visitor");
        self.publish_message(&conv.id, Some(&write.session), &write.message);
        if write.opened {
            self.metrics.session_opened();
            if let Some(menu) = Self::menu_body(&channel).filter(|_| typed && write.session.state == SessionState::Bot) {
                self.system(store, &conv.id, Sender::Bot, menu, now_ms)?;
            } else if !open_now && let Some(h) = &channel.hours {
                self.system(store, &conv.id, Sender::System, Body::Text { text: h.message.clone() }, now_ms)?;
            }
            self.hub.to_visitors(&conv.id, &self.state_event(store, &write.session)?);
            self.publish_session(&write.session);
            self.route(store, now_ms)?;
        } else if typed && write.session.state == SessionState::Bot {
            // Typing instead of choosing: the visitor wants a person.
            self.enqueue(store, &write.session, None, now_ms)?;
        } else if write.session.state == SessionState::Queued {
            // Nobody has it yet: refresh the queue entry's preview for every agent.
            self.publish_session(&write.session);
        }
        Ok((write.message.seq, false))
    }

    fn enqueue(&self, store: &mut dyn Store, session: &SessionRow, category: Option<&str>, now_ms: u64) -> R<()> {
        if let Some(s) = store.queue_session(&session.id, category, now_ms)? {
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
        let channel = self.channel(&conv.channel)?.clone();
        let bot = channel.bot.as_ref().ok_or_else(|| AppError::BadRequest("this channel has no bot menu".into()))?;
        let choice = bot.options.iter().find(|o| o.id == option).ok_or_else(|| AppError::BadRequest(format!("no menu option {option:?}")))?;
        let (before, _) = store.conversation_state(&conv.id)?;
        let was_bot = before.as_ref().is_none_or(|s| !s.is_open() || s.state == SessionState::Bot);
        let (seq, duplicate) = self.visitor_write(store, conv, client_id, Body::Text { text: choice.label.clone() }, false, now_ms)?;
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

    /// The visitor's page changed mid-chat: the declared (unverified) page is recorded on the open
    /// session, apart from its launch context, and agents who can see the session get it again.
    /// Nothing changes without an open session or when the page is the same.
    pub fn visitor_context(&self, store: &mut dyn Store, conv: &ConversationRef, declared: &EntryPoint) -> R<()> {
        declared.validate().map_err(|e| AppError::BadRequest(format!("declared entry point: {e}")))?;
        let Some(page) = declared.page.as_deref() else { return Ok(()) };
        let (session, _) = store.conversation_state(&conv.id)?;
        let Some(session) = session.filter(|s| s.is_open() && s.current_page.as_deref() != Some(page)) else { return Ok(()) };
        if let Some(row) = store.set_current_page(&session.id, Some(page))? {
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
                .config
                .agents
                .iter()
                .filter(|a| a.works(&session.channel) && self.hub.is_available(&a.id))
                .filter(|a| session.category.as_ref().is_none_or(|c| a.skills.contains(c)))
                .filter(|a| loads.get(&a.id).copied().unwrap_or(0) < a.max_chats)
                .min_by_key(|a| (loads.get(&a.id).copied().unwrap_or(0), a.id.clone()));
            if let Some(agent) = best
                && let Some(row) = store.assign(&session.id, &agent.id, None)?
            {
                *loads.entry(agent.id.clone()).or_default() += 1;
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

    fn announce_assignment(&self, store: &mut dyn Store, row: &SessionRow) -> R<()> {
        self.hub.to_visitors(&row.conversation, &self.state_event(store, row)?);
        self.publish_session(row);
        Ok(())
    }

    /// An agent message, stored only into an open session assigned to that agent.
    pub fn agent_send(&self, store: &mut dyn Store, agent: &str, session: &str, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        check_client_id(client_id)?;
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
        self.metrics.message("agent");
        self.hub.to_visitors(&conversation, &VisitorEvent::Message { message: message.clone() });
        self.hub.to_agent(agent, &AgentEvent::Message { session: session.into(), message: message.clone() });
        Ok(message.seq)
    }

    /// Closes a session (any reason) and frees the agent's slot.
    pub fn close(&self, store: &mut dyn Store, session: &str, reason: CloseReason, now_ms: u64) -> R<bool> {
        let Some((row, notice)) = store.close_session(session, reason, close_notice(reason), now_ms)? else { return Ok(false) };
        self.metrics.session_closed();
        self.hub.to_visitors(&row.conversation, &VisitorEvent::Message { message: notice.clone() });
        self.hub.to_visitors(&row.conversation, &self.state_event(store, &row)?);
        if let Some(a) = &row.agent {
            self.hub.to_agent(a, &AgentEvent::Message { session: row.id.clone(), message: notice });
        }
        self.publish_session(&row);
        self.route(store, now_ms)?;
        Ok(true)
    }

    /// Manual pick from the queue, within the agent's limit (supervisors may exceed it).
    pub fn take(&self, store: &mut dyn Store, agent: &str, session: &str) -> R<SessionRow> {
        let a = self.config.agent(agent).ok_or(AppError::Unauthorized)?;
        let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
        if !a.works(&row.channel) {
            return Err(AppError::AgentWrite(AgentWriteError::NotAssigned));
        }
        let load = store.agent_loads()?.into_iter().find(|(id, _)| id == agent).map_or(0, |(_, n)| n);
        if load >= a.max_chats && a.role != Role::Supervisor {
            return Err(AppError::AgentFull(a.name.clone()));
        }
        let row = store.assign(session, agent, None)?.ok_or_else(|| {
            if row.is_open() { AppError::AgentWrite(AgentWriteError::NotAssigned) } else { AppError::AgentWrite(AgentWriteError::NotOpen) }
        })?;
        self.announce_assignment(store, &row)?;
        Ok(row)
    }

    /// Hands an assigned session to another agent.
    pub fn transfer(&self, store: &mut dyn Store, agent: &str, session: &str, to: &str, now_ms: u64) -> R<SessionRow> {
        let me = self.config.agent(agent).ok_or(AppError::Unauthorized)?;
        let target = self.config.agent(to).ok_or_else(|| AppError::BadRequest(format!("no agent {to:?}")))?;
        let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
        if !row.is_open() {
            return Err(AppError::AgentWrite(AgentWriteError::NotOpen));
        }
        let from = match row.agent.as_deref() {
            Some(a) if a == agent || me.role == Role::Supervisor => a.to_string(),
            _ => return Err(AppError::AgentWrite(AgentWriteError::NotAssigned)),
        };
        if !target.works(&row.channel) {
            return Err(AppError::BadRequest(format!("{} does not work this channel", target.name)));
        }
        let load = store.agent_loads()?.into_iter().find(|(id, _)| id == to).map_or(0, |(_, n)| n);
        if load >= target.max_chats {
            return Err(AppError::AgentFull(target.name.clone()));
        }
        let row = store.assign(session, to, Some(&from))?.ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
        let notice = format!("{}님에게 상담이 전달되었습니다. · You are now chatting with {}.", target.name, target.name);
        self.system(store, &row.conversation, Sender::System, Body::Text { text: notice }, now_ms)?;
        self.announce_assignment(store, &row)?;
        // The previous agent drops it from their chats.
        self.hub.to_agent(&from, &AgentEvent::Session { session: row.summary() });
        Ok(row)
    }

    /// Blocks the session's user key for `days` and closes the session.
    pub fn block(&self, store: &mut dyn Store, agent: &str, session: &str, days: u32, reason: &str, now_ms: u64) -> R<()> {
        let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
        let a = self.config.agent(agent).ok_or(AppError::Unauthorized)?;
        if row.agent.as_deref() != Some(agent) && a.role != Role::Supervisor {
            return Err(AppError::AgentWrite(AgentWriteError::NotAssigned));
        }
        if !(1..=3650).contains(&days) {
            return Err(AppError::BadRequest("block for 1 to 3650 days".into()));
        }
        let until = now_ms + u64::from(days) * 86_400_000;
        store.block(&row.channel, &row.user_key, until, reason, agent)?;
        tracing::info!(channel = %row.channel, user_key = %row.user_key, days, agent, reason, "user blocked");
        self.close(store, session, CloseReason::Blocked, now_ms)?;
        Ok(())
    }

    /// Periodic work: inactivity closes, quiet notices, queue moves when the desk opens.
    pub fn tick(&self, store: &mut dyn Store, now_ms: u64, quiet_sent: &mut HashMap<String, u64>) -> R<()> {
        for channel in &self.config.channels {
            let before = now_ms.saturating_sub(channel.inactivity_secs * 1000);
            for s in store.stale_sessions(&channel.id, before)? {
                self.close(store, &s.id, CloseReason::Inactivity, now_ms)?;
            }
        }
        let quiet_ms = self.config.quiet_after_secs * 1000;
        let mut still_assigned = HashMap::new();
        for agent in self.hub.online_agents() {
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

    /// Other agents for the transfer list.
    pub fn agent_infos(&self) -> Vec<AgentInfo> {
        self.config
            .agents
            .iter()
            .map(|a| AgentInfo { id: a.id.clone(), name: a.name.clone(), available: self.hub.is_available(&a.id) })
            .collect()
    }
}

fn check_client_id(id: &str) -> R<()> {
    if id.is_empty() || id.len() > consult_sdk::protocol::MAX_CLIENT_ID_LEN {
        return Err(AppError::BadRequest(format!(
            "client_id must be 1 to {} bytes",
            consult_sdk::protocol::MAX_CLIENT_ID_LEN
        )));
    }
    Ok(())
}
