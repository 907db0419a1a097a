//! What happened, as the rules and the consult operations report it for publishing.

use consult_sdk::protocol::{AgentEvent, ChatMessage, CloseReason, SessionState, SessionSummary, VisitorEvent};

use crate::store::SessionRow;

/// Something that happened, for the sockets that should hear of it. Built after a write, sent
/// only once that write committed (see [`crate::core::Core::publish`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message was stored: the conversation's visitors get it, and, when it belongs to an open
    /// session, its assignee and the supervisors watching it.
    Message {
        /// Conversation.
        conversation: String,
        /// The open session it belongs to (id), if it goes to the desk too.
        session: Option<String>,
        /// That session's assignee.
        assignee: Option<String>,
        /// The stored message.
        message: ChatMessage,
    },
    /// The visitor's view of their session changed.
    State {
        /// Conversation.
        conversation: String,
        /// New state.
        state: SessionState,
        /// Place in the queue, when queued.
        queue_position: Option<u32>,
        /// Assigned agent (id; the visitor sees the name).
        agent: Option<String>,
        /// Why it closed.
        reason: Option<CloseReason>,
    },
    /// A session changed (opened, queued, assigned, closed, moved page): every desk working its
    /// channel updates its lists.
    Session(SessionSummary),
    /// A session left an agent's chats (transferred, reassigned, back to the bot).
    Left {
        /// The agent it left.
        agent: String,
        /// The session as it is now.
        session: SessionSummary,
    },
    /// The inactivity close is near.
    Closing {
        /// Conversation.
        conversation: String,
        /// Seconds left.
        secs: u32,
    },
    /// The visitor of an agent's session has gone quiet.
    Quiet {
        /// The assignee.
        agent: String,
        /// Session id.
        session: String,
    },
    /// A session's tags changed: every desk working its channel.
    Tags {
        /// Channel.
        channel: String,
        /// Session id.
        session: String,
        /// The tags now.
        tags: Vec<String>,
    },
    /// For whoever follows a session on the desk: its assignee and watching supervisors,
    /// except `except` (the agent who did it, answered already).
    Followers {
        /// Session id.
        session: String,
        /// Its assignee.
        assignee: Option<String>,
        /// Who is left out.
        except: Option<String>,
        /// What they get.
        event: AgentEvent,
    },
    /// One agent's desks (every socket of theirs).
    Agent {
        /// Agent id.
        agent: String,
        /// What they get.
        event: AgentEvent,
    },
    /// Every online desk.
    Desks(AgentEvent),
    /// The visitor's sockets (typing, read marks).
    Visitor {
        /// Conversation.
        conversation: String,
        /// What they get.
        event: VisitorEvent,
    },
    /// The conversation's sockets get `last` and close (a block, an erasure).
    Ended {
        /// Conversation.
        conversation: String,
        /// The last event they get.
        last: VisitorEvent,
    },
    /// Agents' availability changed: every desk gets the list again.
    Presence,
    /// A phone took the chat over: the sockets opened with the desktop's handle are told and
    /// closed.
    HandedOff {
        /// Conversation.
        conversation: String,
        /// The desktop's (now revoked) handle.
        handle: String,
    },
    /// An agent's sign-ins ended (disabled, new password): their desks close, on every node.
    SignedOut {
        /// Agent id.
        agent: String,
    },
}

impl Event {
    /// A message stored in `conversation`; `session` is its open session, if it goes to the
    /// desk too.
    pub fn message(conversation: &str, session: Option<&SessionRow>, message: &ChatMessage) -> Event {
        Event::Message {
            conversation: conversation.into(),
            session: session.map(|s| s.id.clone()),
            assignee: session.and_then(|s| s.agent.clone()),
            message: message.clone(),
        }
    }

    /// What the visitor sees of `session` now, at `queue_position` when queued.
    pub fn state(session: &SessionRow, queue_position: Option<u32>) -> Event {
        Event::State {
            conversation: session.conversation.clone(),
            state: session.state,
            queue_position,
            agent: session.agent.clone(),
            reason: session.close_reason,
        }
    }
}
