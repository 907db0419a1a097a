//! The consult operations. Each reads the rows it needs, asks the rules ([`crate::rules`])
//! what follows, writes that, and collects what happened as [`Event`]s, which
//! [`Core::publish`] fans out once the operation succeeded. Every operation runs on the storage
//! thread as one job, so what must be atomic (visitor speaks first, nothing after a close, one
//! assignment) sees a store nobody else touches meanwhile; the hub holds the events until the
//! batch commits, so sockets hear of a write only once it is stored, in stored order.
//!
//! Convention: a `pub fn` operation publishes its own events (through `Core::publishing`);
//! a step that takes `out: &mut Events` only adds to its caller's.

use std::collections::HashMap;
use std::sync::Arc;

use consult_sdk::EntryPoint;
use consult_sdk::protocol::{AgentEvent, AgentInfo, Body, ChatMessage, CloseReason, Sender, SessionState, VisitorEvent};

use crate::config::{BotAction, Channel, Config};
use crate::error::AppError;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::rules::access::{self, AgentAction, Uploader};
use crate::rules::bot::{self, BotReply};
use crate::rules::session::{self as course, Desk};
use crate::rules::timers::{self, TickMemory};
use crate::rules::{Event, routing};
use crate::store::{AgentWriteError, ConversationRef, SessionMark, SessionRow, Store};
use crate::supervise::entry_label;

/// What an operation reports, in order, for [`Core::publish`].
pub type Events = Vec<Event>;

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

impl Core {
    fn channel(&self, id: &str) -> R<Arc<Channel>> {
        self.live_channel(id).ok_or_else(|| AppError::UnknownChannel(id.into()))
    }

    pub(crate) fn agent_name(&self, id: &str) -> String {
        self.agent(id).map(|a| a.name.clone()).unwrap_or_else(|| id.into())
    }

    /// Runs an operation that reports events, and publishes them if it succeeded.
    pub(crate) fn publishing<T>(&self, operation: impl FnOnce(&mut Events) -> R<T>) -> R<T> {
        let mut events = Vec::new();
        let done = operation(&mut events)?;
        self.publish(events);
        Ok(done)
    }

    /// The agent, if they may do `action` with `session` (see [`access::authorize`]).
    ///
    /// # Errors
    /// `unauthorized` (no such agent), then as [`access::authorize`].
    pub fn authorize(&self, agent: &str, session: &SessionRow, action: AgentAction) -> R<Arc<crate::config::Agent>> {
        let me = self.agent(agent).ok_or(AppError::Unauthorized)?;
        access::authorize(&me, session, action)?;
        Ok(me)
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
        // Only a queued session needs the queue read.
        if session.state != SessionState::Queued {
            return Ok(None);
        }
        Ok(course::queue_position(&store.queued()?, session))
    }

    /// A session changed state: see [`course::moved`] (its place in the queue read here).
    fn moved(&self, store: &mut dyn Store, session: &SessionRow) -> R<[Event; 2]> {
        let queue_position = self.queue_position(store, session)?;
        Ok(course::moved(session, queue_position))
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

    /// Stores a system or bot message in the conversation (its open session, if any).
    pub(crate) fn system(&self, store: &mut dyn Store, conversation: &str, sender: Sender, body: Body, now_ms: u64, out: &mut Events) -> R<ChatMessage> {
        let message = store.system_write(conversation, &sender, &body, now_ms)?;
        let (session, _) = store.conversation_state(conversation)?;
        let open = session.as_ref().filter(|s| s.is_open());
        out.push(Event::message(conversation, open, &message));
        if let Some(s) = open {
            crate::counsel::message_created(store, s, &message, now_ms)?;
        }
        Ok(message)
    }

    /// The bot says these, in order.
    fn bot_says(&self, store: &mut dyn Store, conversation: &str, said: Vec<Body>, now_ms: u64, out: &mut Events) -> R<()> {
        for body in said {
            self.system(store, conversation, Sender::Bot, body, now_ms, out)?;
        }
        Ok(())
    }

    /// Checks a visitor's or agent's body and fills image/file details from the stored upload
    /// (see [`access::check_body`]).
    pub fn check_body(&self, store: &mut dyn Store, body: Body, uploader: Uploader<'_>) -> R<Body> {
        let stored = match &body {
            Body::Image { attachment, .. } | Body::File { attachment, .. } => store.attachment(attachment)?,
            _ => None,
        };
        access::check_body(body, stored, uploader)
    }

    /// A visitor message: opens a session when none is open (the visitor speaks first), runs
    /// the bot or queues, and routes. Returns the stored seq.
    pub fn visitor_send(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        self.publishing(|out| Ok(self.visitor_write(store, conv, client_id, body, None, now_ms, out)?.0))
    }

    /// `tapped`: `None` when the visitor typed it, else the menu option whose label it records.
    #[allow(clippy::too_many_arguments)]
    fn visitor_write(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, body: Body, tapped: Option<&str>, now_ms: u64, out: &mut Events) -> R<(u64, bool)> {
        let typed = tapped.is_none();
        access::check_client_id(client_id)?;
        let channel = self.channel(&conv.channel)?;
        if store.is_blocked(&conv.channel, &conv.user_key, now_ms)? {
            return Err(AppError::Blocked);
        }
        let body = self.check_body(store, body, Uploader::Conversation(&conv.id))?;
        let now = now_ms / 1000;
        let desk = course::desk(channel.hours.as_ref(), now);
        // Only a refusing desk asks whether a session is open (reading it costs a query per message).
        if desk == Desk::ClosedRefusing
            && let Some(h) = &channel.hours
        {
            let (current, _) = store.conversation_state(&conv.id)?;
            if !current.as_ref().is_some_and(SessionRow::is_open) {
                return Err(AppError::ClosedAfterHours(h.reply(now)));
            }
        }
        let has_bot = channel.bot.is_some() || self.config.counsel.bot(&channel.id).is_some();
        let write = store.visitor_write(&conv.id, client_id, &body, &course::open_as(has_bot, desk), now_ms)?;
        if write.duplicate {
            return Ok((write.message.seq, true));
        }
        self.metrics.message("visitor");
        out.push(Event::message(&conv.id, Some(&write.session), &write.message));
        crate::counsel::visitor_wrote(store, &write.session, write.opened, &write.message, tapped, now_ms)?;
        let menu_answers = typed && write.session.state == SessionState::Bot && self.menu_answers(&channel, &write.session);
        if write.opened {
            self.metrics.session_opened();
            store.mark_session(&write.session.id, &SessionMark::Opened { entry: entry_label(&write.session) }, now_ms)?;
            if write.session.state == SessionState::Queued {
                store.mark_session(&write.session.id, &SessionMark::Queued, now_ms)?;
            }
            if !menu_answers
                && desk != Desk::Open
                && let Some(h) = &channel.hours
            {
                self.system(store, &conv.id, Sender::System, Body::Text { text: h.reply(now) }, now_ms, out)?;
            }
            out.extend(self.moved(store, &write.session)?);
            if menu_answers {
                self.bot_answers_typing(store, &channel, &write.session, &body, true, now_ms, out)?;
            }
            self.route_into(store, now_ms, out)?;
        } else if menu_answers {
            // Typing instead of choosing: an FAQ answer when one matches, else a person.
            self.bot_answers_typing(store, &channel, &write.session, &body, false, now_ms, out)?;
        } else if write.session.state == SessionState::Queued {
            // Nobody has it yet: refresh the queue entry's preview for every agent.
            out.push(Event::Session(write.session.summary()));
        }
        Ok((write.message.seq, false))
    }

    /// A session with the bot goes to the queue (with a category: agents with that skill).
    pub(crate) fn enqueue(&self, store: &mut dyn Store, session: &SessionRow, category: Option<&str>, now_ms: u64, out: &mut Events) -> R<()> {
        if let Some(s) = store.queue_session(&session.id, category, now_ms)? {
            store.mark_session(&s.id, &SessionMark::Queued, now_ms)?;
            crate::counsel::state_changed(store, &s, SessionState::Bot, now_ms)?;
            let channel = self.channel(&s.channel)?;
            if let Some(h) = channel.hours.as_ref().filter(|h| !h.is_open(now_ms / 1000)) {
                self.system(store, &s.conversation, Sender::System, Body::Text { text: h.message.clone() }, now_ms, out)?;
            }
            out.extend(self.moved(store, &s)?);
            self.route_into(store, now_ms, out)?;
        }
        Ok(())
    }

    /// The bot says it hands over, and the session is queued.
    pub(crate) fn hand_to_agents(&self, store: &mut dyn Store, session: &SessionRow, now_ms: u64, out: &mut Events) -> R<()> {
        self.system(store, &session.conversation, Sender::Bot, Body::Text { text: bot::HANDING_TO_AGENT.into() }, now_ms, out)?;
        self.enqueue(store, session, None, now_ms, out)
    }

    /// A bot menu choice: recorded as the visitor's message, then answered, linked or queued.
    pub fn visitor_choose(&self, store: &mut dyn Store, conv: &ConversationRef, client_id: &str, option: &str, now_ms: u64) -> R<u64> {
        self.publishing(|out| {
            let channel = self.channel(&conv.channel)?;
            let built_in = channel.bot.as_ref().and_then(|bot| bot.options.iter().find(|o| o.id == option));
            let Some(choice) = built_in else {
                // A button an outside bot sent over the API: the tap is the label, as a message.
                let label = self.outside_bot_option(store, conv, option)?.ok_or_else(|| AppError::BadRequest(format!("no menu option {option:?}")))?;
                return self.visitor_write(store, conv, client_id, Body::Text { text: label }, Some(option), now_ms, out).map(|(seq, _)| seq);
            };
            let (before, _) = store.conversation_state(&conv.id)?;
            let (seq, duplicate) = self.visitor_write(store, conv, client_id, Body::Text { text: choice.label.clone() }, Some(option), now_ms, out)?;
            let (after, _) = store.conversation_state(&conv.id)?;
            let Some(session) = after.filter(|a| bot::acts_on_choice(before.as_ref(), Some(a), duplicate)) else { return Ok(seq) };
            match &choice.action {
                BotAction::Answer(text) => self.bot_says(store, &conv.id, bot::chosen_answer(&channel, text), now_ms, out)?,
                BotAction::Link(_) => {}
                BotAction::Queue(category) => self.enqueue(store, &session, Some(category), now_ms, out)?,
            }
            Ok(seq)
        })
    }

    /// The label of `option` in the latest bot menu of the open session still with the bot.
    fn outside_bot_option(&self, store: &mut dyn Store, conv: &ConversationRef, option: &str) -> R<Option<String>> {
        let (session, _) = store.conversation_state(&conv.id)?;
        let Some(session) = session.filter(|s| s.state == SessionState::Bot) else { return Ok(None) };
        let recent = store.session_messages(&session.id, session.last_seq.saturating_sub(20), 20)?;
        Ok(bot::offered_label(&recent, option))
    }

    /// The visitor's page changed mid-chat: the declared (unverified) page is recorded on the open
    /// session, apart from its launch context, and agents who can see the session get it again.
    /// Nothing changes without an open session or when the page is the same.
    pub fn visitor_context(&self, store: &mut dyn Store, conv: &ConversationRef, declared: &EntryPoint) -> R<()> {
        declared.validate().map_err(|e| AppError::BadRequest(format!("declared entry point: {e}")))?;
        let Some(page) = declared.page.as_deref() else { return Ok(()) };
        self.publishing(|out| {
            let (session, _) = store.conversation_state(&conv.id)?;
            let Some(session) = session.filter(|s| s.is_open() && s.current_page.as_deref() != Some(page)) else { return Ok(()) };
            if let Some(row) = store.set_current_page(&session.id, Some(page))? {
                crate::counsel::page_changed(store, &row, crate::now_ms())?;
                out.push(Event::Session(row.summary()));
            }
            Ok(())
        })
    }

    /// Assigns queued sessions (see [`routing::choose_agent`]) and tells those still waiting
    /// their new place.
    pub fn route(&self, store: &mut dyn Store, now_ms: u64) -> R<()> {
        self.publishing(|out| self.route_into(store, now_ms, out))
    }

    pub(crate) fn route_into(&self, store: &mut dyn Store, now_ms: u64, out: &mut Events) -> R<()> {
        let queued = store.queued()?;
        if queued.is_empty() {
            return Ok(());
        }
        let mut loads: HashMap<String, u32> = store.agent_loads()?.into_iter().collect();
        let agents = self.agents();
        let mut assigned_any = false;
        for session in &queued {
            let channel = self.channel(&session.channel)?;
            if course::desk(channel.hours.as_ref(), now_ms / 1000) != Desk::Open {
                continue;
            }
            let best = routing::choose_agent(session, &agents, |a| self.hub.is_available(a), &loads);
            // Counted again under the agent's lock: another node may have assigned meanwhile.
            if let Some(agent) = best
                && store.agent_load_locked(&agent.id)? < agent.max_chats
                && let Some(row) = store.assign(&session.id, &agent.id, None)?
            {
                *loads.entry(agent.id.clone()).or_default() += 1;
                crate::counsel::state_changed(store, &row, SessionState::Queued, now_ms)?;
                self.announce_assignment(store, &row, out)?;
                assigned_any = true;
            }
        }
        if assigned_any {
            // Everyone still waiting moved up.
            let waiting = store.queued()?;
            out.extend(waiting.iter().map(|s| Event::state(s, course::queue_position(&waiting, s))));
        }
        Ok(())
    }

    /// A session was assigned: recorded for the reports, told to its visitor and the desks.
    pub(crate) fn announce_assignment(&self, store: &mut dyn Store, row: &SessionRow, out: &mut Events) -> R<()> {
        store.mark_session(&row.id, &SessionMark::Assigned, crate::now_ms())?;
        out.extend(self.moved(store, row)?);
        Ok(())
    }

    /// An agent message, stored only into an open session assigned to that agent.
    pub fn agent_send(&self, store: &mut dyn Store, agent: &str, session: &str, client_id: &str, body: Body, now_ms: u64) -> R<u64> {
        access::check_client_id(client_id)?;
        // Channel and role here; "open and assigned to you" in the store's transaction.
        let row = store.session(session)?.ok_or(AppError::AgentWrite(AgentWriteError::UnknownSession))?;
        let me = self.agent(agent).ok_or(AppError::Unauthorized)?;
        if !me.works(&row.channel) {
            return Err(AppError::NotFound);
        }
        let body = match self.check_body(store, body.clone(), Uploader::Agent(agent)) {
            Ok(b) => b,
            // An agent may also send back one of the visitor's own uploads.
            Err(AppError::BadRequest(m)) if matches!(body, Body::Image { .. } | Body::File { .. }) => {
                self.check_body(store, body, Uploader::Conversation(&row.conversation)).map_err(|_| AppError::BadRequest(m))?
            }
            Err(e) => return Err(e),
        };
        let name = self.agent_name(agent);
        self.publishing(|out| {
            let (conversation, message) = store.agent_write(session, agent, &name, client_id, &body, now_ms)??;
            crate::counsel::message_created(store, &row, &message, now_ms)?;
            self.metrics.message("agent");
            out.push(Event::Message { conversation, session: Some(session.into()), assignee: Some(agent.into()), message: message.clone() });
            store.mark_session(session, &SessionMark::FirstReply, now_ms)?;
            Ok(message.seq)
        })
    }

    /// Closes a session (any reason) and frees the agent's slot; `false` when it was not open.
    pub fn close(&self, store: &mut dyn Store, session: &str, reason: CloseReason, now_ms: u64) -> R<bool> {
        self.publishing(|out| self.close_into(store, session, reason, now_ms, out))
    }

    pub(crate) fn close_into(&self, store: &mut dyn Store, session: &str, reason: CloseReason, now_ms: u64, out: &mut Events) -> R<bool> {
        let before = store.session(session)?.map_or(SessionState::Closed, |r| r.state);
        let Some((row, notice)) = store.close_session(session, reason, course::close_notice(reason), now_ms)? else { return Ok(false) };
        crate::counsel::message_created(store, &row, &notice, now_ms)?;
        crate::counsel::state_changed(store, &row, before, now_ms)?;
        self.metrics.session_closed();
        out.extend(course::closed(&row, &notice));
        self.route_into(store, now_ms, out)?;
        Ok(true)
    }

    /// Closes a blocked visitor's session and ends their sockets at once.
    pub(crate) fn close_blocked(&self, store: &mut dyn Store, row: &SessionRow, now_ms: u64, out: &mut Events) -> R<()> {
        self.close_into(store, &row.id, CloseReason::Blocked, now_ms, out)?;
        let body = AppError::Blocked.body();
        out.push(Event::Ended { conversation: row.conversation.clone(), last: VisitorEvent::Error { code: body.code, message: body.message, client_id: None } });
        Ok(())
    }

    /// Manual pick from the queue, within the agent's limit (supervisors may exceed it).
    pub fn take(&self, store: &mut dyn Store, agent: &str, session: &str) -> R<SessionRow> {
        let row = store.session(session)?.ok_or(AppError::NotFound)?;
        let me = self.authorize(agent, &row, AgentAction::Take)?;
        access::may_take(&me, store.agent_load_locked(agent)?)?;
        self.publishing(|out| {
            let row = store.assign(session, agent, None)?.ok_or_else(|| {
                if row.is_open() { AppError::AgentWrite(AgentWriteError::NotAssigned) } else { AppError::AgentWrite(AgentWriteError::NotOpen) }
            })?;
            crate::counsel::state_changed(store, &row, SessionState::Queued, crate::now_ms())?;
            self.announce_assignment(store, &row, out)?;
            Ok(row)
        })
    }

    /// Hands an assigned session to another agent.
    pub fn transfer(&self, store: &mut dyn Store, agent: &str, session: &str, to: &str, now_ms: u64) -> R<SessionRow> {
        let row = self.session_for(store, agent, session, AgentAction::Transfer)?;
        let target = self.agent(to).ok_or_else(|| AppError::BadRequest(format!("no agent {to:?}")))?;
        let from = access::transfer_from(&row, &target)?;
        access::has_room(&target, store.agent_load_locked(to)?)?;
        self.publishing(|out| {
            let row = store.assign(session, to, Some(&from))?.ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
            store.mark_session(session, &SessionMark::Transfer, now_ms)?;
            crate::counsel::state_changed(store, &row, SessionState::Assigned, now_ms)?;
            self.audit(store, agent, "transfer", Some(&row.channel), Some(session), &format!("from {from} to {to}"), now_ms)?;
            self.system(store, &row.conversation, Sender::System, Body::Text { text: course::transfer_notice(&target.name) }, now_ms, out)?;
            self.announce_assignment(store, &row, out)?;
            // The previous agent drops it from their chats.
            out.push(Event::Left { agent: from, session: row.summary() });
            Ok(row)
        })
    }

    /// An agent closes a session.
    pub fn agent_close(&self, store: &mut dyn Store, agent: &str, session: &str, now_ms: u64) -> R<()> {
        let row = self.session_for(store, agent, session, AgentAction::Close)?;
        self.publishing(|out| {
            if self.close_into(store, session, CloseReason::AgentClosed, now_ms, out)? {
                self.audit(store, agent, "close", Some(&row.channel), Some(session), "closed by an agent", now_ms)?;
            }
            Ok(())
        })
    }

    /// The agent's part ends and the bot takes the chat again (the seed's "end with the bot"):
    /// the session stays open with the bot, the agent's slot frees, the visitor is told and
    /// sees the bot's menu again (an outside bot hears `session.state_changed` to `bot`).
    ///
    /// # Errors
    /// `session_not_open` when it is not with an agent or queued.
    pub fn hand_back_to_bot(&self, store: &mut dyn Store, actor: &str, session: &str, now_ms: u64) -> R<SessionRow> {
        self.publishing(|out| {
            let before = store.session(session)?.ok_or(AppError::NotFound)?;
            let row = store.return_to_bot(session)?.ok_or(AppError::AgentWrite(AgentWriteError::NotOpen))?;
            crate::counsel::state_changed(store, &row, before.state, now_ms)?;
            self.audit(store, actor, "hand_back_to_bot", Some(&row.channel), Some(session), "", now_ms)?;
            self.system(store, &row.conversation, Sender::System, Body::Text { text: course::BACK_TO_BOT.into() }, now_ms, out)?;
            // The built-in menu again, unless the session belongs to an outside bot (it hears the
            // state change and answers itself).
            let channel = self.channel(&row.channel)?;
            if self.menu_answers(&channel, &row)
                && let Some(menu) = bot::menu_body(&channel)
            {
                self.system(store, &row.conversation, Sender::Bot, menu, now_ms, out)?;
            }
            out.extend(self.moved(store, &row)?);
            if let Some(agent) = before.agent {
                out.push(Event::Left { agent, session: row.summary() });
            }
            Ok(row)
        })
    }

    /// Blocks the session's user key for `days`, closes the session and ends the visitor's open
    /// sockets at once; every later use of their handles is refused as `blocked`.
    pub fn block(&self, store: &mut dyn Store, agent: &str, session: &str, days: u32, reason: &str, now_ms: u64) -> R<()> {
        let row = self.session_for(store, agent, session, AgentAction::Block)?;
        let until = access::block_until(days, now_ms)?;
        self.publishing(|out| {
            store.block(&row.channel, &row.user_key, until, reason, agent)?;
            self.audit(store, agent, "block", Some(&row.channel), Some(&row.user_key), &format!("{days} days: {reason}"), now_ms)?;
            tracing::info!(channel = %row.channel, user_key = %row.user_key, days, agent, reason, "user blocked");
            self.close_blocked(store, &row, now_ms, out)
        })
    }

    /// Periodic work: inactivity closes and warnings (see [`timers`]), quiet notices, queue
    /// moves when the desk opens.
    pub fn tick(&self, store: &mut dyn Store, now_ms: u64, memory: &mut TickMemory) -> R<()> {
        self.publishing(|out| {
            // Every node: a switch or an agent another node (or a restart) stored.
            self.switches.replace(store.channel_switches()?);
            self.reload_agents(store)?;
            self.reload_channel_settings(store)?;
            // Once per cluster: only the node holding the lease closes and times out.
            if self.leader.load(std::sync::atomic::Ordering::SeqCst) {
                self.bot_fallback(store, now_ms, out)?;
                let mut quiet = Vec::new();
                for channel in &self.config.channels {
                    let since = timers::quiet_since_ms(channel.inactivity_secs, now_ms);
                    quiet.push((channel.inactivity_secs, store.stale_sessions(&channel.id, since)?));
                }
                let inactivity = timers::inactivity(&quiet, now_ms, &mut memory.warned);
                for session in &inactivity.close {
                    self.close_into(store, session, CloseReason::Inactivity, now_ms, out)?;
                }
                out.extend(inactivity.warnings);
            }
            // Each node tells its own agents.
            let mut assigned = Vec::new();
            for agent in self.hub.local_online_agents() {
                let sessions = store.agent_sessions(&agent)?;
                assigned.push((agent, sessions));
            }
            out.extend(timers::quiet_notices(&assigned, now_ms, self.config.quiet_after_secs * 1000, &mut memory.quiet_sent));
            self.route_into(store, now_ms, out)
        })
    }

    /// A message the visitor typed while the built-in bot runs: answered, or queued (see
    /// [`bot::bot_reply`]).
    #[allow(clippy::too_many_arguments)]
    fn bot_answers_typing(&self, store: &mut dyn Store, channel: &Channel, session: &SessionRow, body: &Body, first: bool, now_ms: u64, out: &mut Events) -> R<()> {
        let Some(menu) = channel.bot.as_ref() else { return Ok(()) };
        match bot::bot_reply(channel, menu, body, first) {
            BotReply::Answer(said) => self.bot_says(store, &session.conversation, said, now_ms, out),
            BotReply::Queue => self.hand_to_agents(store, session, now_ms, out),
        }
    }

    /// Sends every desk the agents' availability (after a sign-in, a sign-out or a switch).
    pub fn publish_presence(&self) {
        self.publish(vec![Event::Presence]);
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

    /// Replaces a session's tags (see [`access::clean_tags`]) and tells every desk that works
    /// its channel.
    pub fn set_tags(&self, store: &mut dyn Store, agent: &str, session: &str, tags: &[String]) -> R<()> {
        let row = store.session(session)?.ok_or(AppError::NotFound)?;
        if !self.agent_channels(agent)?.contains(&row.channel) {
            return Err(AppError::NotFound);
        }
        let clean = access::clean_tags(tags)?;
        self.publishing(|out| {
            store.set_tags(session, &clean)?;
            out.push(Event::Tags { channel: row.channel, session: session.into(), tags: clean });
            Ok(())
        })
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
        if !access::may_unblock(&a, &store.blocks(&[channel.to_string()], now_ms)?, user_key) {
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
