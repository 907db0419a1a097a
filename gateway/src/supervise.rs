//! The operations side of the rules: the visitor's rating, internal notes, the supervisor's live
//! board (watch, reassign, take over), the audit log, and one visitor's export and erasure.
//! Every check on a session goes through [`Core::authorize`]; role-only actions through
//! [`Core::require`].

use consult_sdk::protocol::{
    AgentEvent, Body, BoardAgent, BoardQueue, CloseReason, Sender, SessionState, VisitorEvent,
};

use crate::config::{Agent, Role};
use crate::core::Core;
use crate::rules::Event;
use crate::rules::access::{self, AgentAction};
use crate::error::AppError;
use crate::store::{AgentWriteError, AuditEntry, ConversationRef, EraseCounts, SessionMark, SessionRow, Store};

type R<T> = Result<T, AppError>;

/// The entry point a session is counted under in reports: the button (verified, else declared),
/// else the campaign, else how it came (`printed`, `handoff`, `button`).
pub fn entry_label(row: &SessionRow) -> String {
    let e = &row.context.entry;
    let from = |p: &Option<consult_sdk::EntryPoint>| p.as_ref().and_then(|p| p.button.clone().or_else(|| p.campaign.clone()));
    from(&e.verified).or_else(|| from(&e.declared)).unwrap_or_else(|| if e.via.is_empty() { "(none)".into() } else { format!("({})", e.via) })
}

impl Core {
    /// The agent, if their role is at least `need` (admins have every supervisor right).
    ///
    /// # Errors
    /// `unauthorized` for an unknown agent, `forbidden` (naming the role needed) otherwise.
    pub fn require(&self, agent: &str, need: Role) -> R<std::sync::Arc<Agent>> {
        let me = self.agent(agent).ok_or(AppError::Unauthorized)?;
        let ok = match need {
            Role::Agent => true,
            Role::Supervisor => me.role.supervises(),
            Role::Admin => me.role == Role::Admin,
        };
        if ok { Ok(me) } else { Err(AppError::Forbidden(format!("this needs the {} role", need.as_str()))) }
    }

    /// Channels an agent works, in configuration order.
    pub fn channels_of(&self, agent: &str) -> R<Vec<String>> {
        let a = self.agent(agent).ok_or(AppError::Unauthorized)?;
        Ok(self.config.channels.iter().filter(|c| a.works(&c.id)).map(|c| c.id.clone()).collect())
    }

    /// Appends a line to the audit log, in the same transaction as what it records.
    #[allow(clippy::too_many_arguments)] // one log line's columns
    pub fn audit(&self, store: &mut dyn Store, actor: &str, action: &str, channel: Option<&str>, target: Option<&str>, detail: &str, now_ms: u64) -> R<()> {
        let entry = AuditEntry {
            id: 0,
            at_ms: now_ms,
            actor: actor.into(),
            action: action.into(),
            channel: channel.map(Into::into),
            target: target.map(Into::into),
            detail: detail.into(),
        };
        Ok(store.audit_append(&entry)?)
    }

    /// The visitor rates the conversation's last session, once, after it closed.
    ///
    /// # Errors
    /// `bad_request` (score outside 1–5, comment too long, nothing closed to rate),
    /// `already_rated`.
    pub fn visitor_rate(&self, store: &mut dyn Store, conv: &ConversationRef, score: u8, comment: Option<String>, now_ms: u64) -> R<()> {
        let comment = access::check_rating(score, comment)?;
        let (session, _) = store.conversation_state(&conv.id)?;
        let session = session.filter(|s| !s.is_open()).ok_or_else(|| AppError::BadRequest("there is no ended chat to rate".into()))?;
        if !store.rate_session(&session.id, score, comment.as_deref(), now_ms)? {
            return Err(AppError::AlreadyRated);
        }
        let event = self.notes_event(store, &session.id)?;
        self.publish(vec![Event::Followers { session: session.id, assignee: session.agent, except: None, event }]);
        Ok(())
    }

    /// A session's notes and rating, for the desk.
    pub fn notes_event(&self, store: &mut dyn Store, session: &str) -> R<AgentEvent> {
        Ok(AgentEvent::Notes { session: session.into(), notes: store.notes(session)?, rating: store.rating(session)? })
    }

    /// An internal note: the assignee or a supervisor of the channel. Never reaches the visitor.
    pub fn note(&self, store: &mut dyn Store, agent: &str, session: &str, text: &str, now_ms: u64) -> R<AgentEvent> {
        let row = self.session_for(store, agent, session, AgentAction::Note)?;
        let text = access::check_note(text)?;
        let name = self.agent(agent).map(|a| a.name.clone()).unwrap_or_else(|| agent.into());
        store.add_note(session, agent, &name, text, now_ms)?;
        let event = self.notes_event(store, session)?;
        // The author's desk has it in the answer.
        self.publish(vec![Event::Followers { session: session.into(), assignee: row.agent, except: Some(agent.into()), event: event.clone() }]);
        Ok(event)
    }

    /// A supervisor follows a session read-only (or stops): its summary, messages and notes now,
    /// its messages as they come.
    pub fn watch(&self, store: &mut dyn Store, agent: &str, session: &str, on: bool) -> R<Vec<AgentEvent>> {
        let row = self.session_for(store, agent, session, AgentAction::Watch)?;
        self.hub.watch(session, agent, on);
        if !on {
            return Ok(vec![]);
        }
        let mut out = vec![AgentEvent::Session { session: row.summary() }];
        out.extend(store.session_messages(session, 0, 10_000)?.into_iter().map(|message| AgentEvent::Message { session: session.into(), message }));
        out.push(self.notes_event(store, session)?);
        Ok(out)
    }

    /// A supervisor gives a session with the bot, in the queue or with an agent to `to` (who must
    /// work its channel and have a free slot), or takes it over (`to` is themselves; their slots
    /// do not limit them).
    pub fn reassign(&self, store: &mut dyn Store, agent: &str, session: &str, to: &str, now_ms: u64) -> R<SessionRow> {
        let row = self.session_for(store, agent, session, AgentAction::Reassign)?;
        let target = self.agent(to).ok_or_else(|| AppError::BadRequest(format!("no agent {to:?}")))?;
        access::may_reassign(&row, &target)?;
        // Counted under the agent's lock, as take and transfer do, so two nodes never overfill them.
        let load = store.agent_load_locked(to)?;
        if to != agent {
            access::has_room(&target, load)?;
        }
        let from = row.agent.clone();
        self.publishing(|out| {
            if matches!(row.state, SessionState::Bot | SessionState::Waiting) {
                store.queue_session(session, row.category.as_deref(), now_ms)?;
                store.mark_session(session, &SessionMark::Queued, now_ms)?;
            }
            let moved = store.assign(session, to, from.as_deref())?.ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
            crate::counsel::state_changed(store, &moved, row.state, now_ms)?;
            if let Some(from) = &from {
                store.mark_session(session, &SessionMark::Transfer, now_ms)?;
                let notice = crate::rules::session::transfer_notice(&target.name);
                self.system(store, &moved.conversation, Sender::System, Body::Text { text: notice }, now_ms, out)?;
                // The previous agent drops it from their chats.
                out.push(Event::Left { agent: from.clone(), session: moved.summary() });
            }
            self.announce_assignment(store, &moved, out)?;
            let what = if to == agent { "took over".to_string() } else { format!("to {to}") };
            self.audit(store, agent, "reassign", Some(&moved.channel), Some(session), &format!("{what} (was {})", from.as_deref().unwrap_or("queued")), now_ms)?;
            Ok(moved)
        })
    }

    /// The supervisor's live board over their channels.
    pub fn board(&self, store: &mut dyn Store, agent: &str, now_ms: u64) -> R<AgentEvent> {
        self.require(agent, Role::Supervisor)?;
        let channels = self.channels_of(agent)?;
        let open: Vec<SessionRow> = store.open_sessions()?.into_iter().filter(|s| channels.contains(&s.channel)).collect();
        let mut queues: Vec<BoardQueue> = Vec::new();
        for s in open.iter().filter(|s| s.state == SessionState::Queued) {
            let wait = now_ms.saturating_sub(s.opened_ms);
            match queues.iter_mut().find(|q| q.channel == s.channel && q.category == s.category) {
                Some(q) => {
                    q.waiting += 1;
                    q.longest_wait_ms = q.longest_wait_ms.max(wait);
                }
                None => queues.push(BoardQueue { channel: s.channel.clone(), category: s.category.clone(), waiting: 1, longest_wait_ms: wait }),
            }
        }
        queues.sort_by_key(|q| std::cmp::Reverse(q.longest_wait_ms));
        let online = self.hub.online_agents();
        let agents = self
            .agents()
            .iter()
            .filter(|a| channels.iter().any(|c| a.works(c)))
            .map(|a| {
                let chats: Vec<String> =
                    open.iter().filter(|s| s.state == SessionState::Assigned && s.agent.as_deref() == Some(&a.id)).map(|s| s.id.clone()).collect();
                let status = if self.hub.is_available(&a.id) {
                    "available"
                } else if online.contains(&a.id) {
                    "away"
                } else {
                    "offline"
                };
                BoardAgent {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    role: a.role.as_str().into(),
                    status: status.into(),
                    load: chats.len() as u32,
                    max_chats: a.max_chats,
                    chats,
                    team: a.team.clone(),
                }
            })
            .collect();
        Ok(AgentEvent::Board { at_ms: now_ms, queues, agents, sessions: open.iter().map(SessionRow::summary).collect() })
    }

    /// Admin: everything about one user key, as JSON (the export is audited).
    pub fn export_user(&self, store: &mut dyn Store, agent: &str, channel: &str, user_key: &str, now_ms: u64) -> R<serde_json::Value> {
        self.require(agent, Role::Admin)?;
        if !self.channels_of(agent)?.iter().any(|c| c == channel) {
            return Err(AppError::NotFound);
        }
        self.audit(store, agent, "export", Some(channel), Some(user_key), "user data export", now_ms)?;
        Ok(store.user_export(channel, user_key)?)
    }

    /// Admin: erases one user key; an open chat closes first and its sockets end. Counts stay.
    pub fn erase_user(&self, store: &mut dyn Store, agent: &str, channel: &str, user_key: &str, now_ms: u64) -> R<EraseCounts> {
        self.require(agent, Role::Admin)?;
        if !self.channels_of(agent)?.iter().any(|c| c == channel) {
            return Err(AppError::NotFound);
        }
        self.publishing(|out| {
            for s in store.history(channel, user_key, 1000)?.into_iter().filter(SessionRow::is_open) {
                self.close_into(store, &s.id, CloseReason::VisitorLeft, now_ms, out)?;
                let last = VisitorEvent::State { state: SessionState::Closed, queue_position: None, agent_name: None, reason: None };
                out.push(Event::Ended { conversation: s.conversation, last });
            }
            let counts = store.user_erase(channel, user_key, now_ms)?;
            let detail = format!("erased: {} sessions kept as counts, {} messages, {} attachments deleted", counts.sessions, counts.messages, counts.attachments);
            self.audit(store, agent, "erase", Some(channel), Some(user_key), &detail, now_ms)?;
            Ok(counts)
        })
    }

    /// The visitor's wait estimate in seconds at queue `position`: the median wait of the
    /// channel's last 20 assignments in the past two hours, times the position. `None` without
    /// recent data.
    pub fn wait_estimate(&self, store: &mut dyn Store, channel: &str, position: u32, now_ms: u64) -> R<Option<u32>> {
        let mut waits = store.recent_waits(channel, now_ms.saturating_sub(2 * 3_600_000), 20)?;
        if waits.is_empty() {
            return Ok(None);
        }
        waits.sort_unstable();
        let median = waits[(waits.len() - 1) / 2];
        let secs = (median / 1000).max(30) * u64::from(position.max(1));
        Ok(Some(secs.min(4 * 3600) as u32))
    }
}
