//! Send results, both ways: a conversation's delivered and read marks. The visitor's socket
//! reports what it wrote (delivered) and the open chat what it showed (read); the assignee's desk,
//! or an outside system over the API, what the agent side read. Marks only rise, so a late or
//! repeated report changes nothing and publishes nothing.

use consult_sdk::counsel::{MessageStatus, WebhookEvent};
use consult_sdk::protocol::{AgentEvent, Receipts, VisitorEvent};

use crate::core::Core;
use crate::rules::Event;
use crate::rules::access::AgentAction;
use crate::counsel::Actor;
use crate::error::AppError;
use crate::store::{AgentWriteError, ConversationRef, ReceiptMark, Store};
use crate::webhooks::emit;

type R<T> = Result<T, AppError>;

impl Core {
    /// The visitor's socket wrote, or their open chat showed, the conversation up to `seq`: the
    /// assignee and watchers see "delivered"/"read" under the replies, webhooks get
    /// `message.status`.
    ///
    /// # Errors
    /// Storage failures.
    pub fn visitor_progress(&self, store: &mut dyn Store, conversation: &ConversationRef, mark: ReceiptMark, seq: u64, now_ms: u64) -> R<()> {
        let Some(receipts) = store.raise_receipt(&conversation.id, mark, seq)? else { return Ok(()) };
        // The latest session, open or just closed: a read after the close still counts.
        let (Some(session), _) = store.conversation_state(&conversation.id)? else { return Ok(()) };
        let event = AgentEvent::Receipts { session: session.id.clone(), receipts };
        self.publish(vec![Event::Followers { session: session.id.clone(), assignee: session.agent.clone(), except: None, event }]);
        let data = MessageStatus { session: session.id.clone(), user_key: session.user_key.clone(), receipts };
        emit(store, &session.channel, Some(&session.id), WebhookEvent::MessageStatus(data), now_ms)
    }

    /// The assignee read the session up to `seq` on the desk: the visitor sees "read". Anyone
    /// else who may view the session (a supervisor watching) reads without marking.
    ///
    /// # Errors
    /// As [`Core::session_for`] with [`AgentAction::View`].
    pub fn agent_read(&self, store: &mut dyn Store, agent: &str, session: &str, seq: u64) -> R<Option<Receipts>> {
        let row = self.session_for(store, agent, session, AgentAction::View)?;
        if row.agent.as_deref() != Some(agent) {
            return Ok(None);
        }
        self.mark_agent_read(store, &row.conversation, session, Some(agent), seq)
    }

    /// An outside system read the session up to `seq`: an agent key only as the assignee, a
    /// system key for any session of its channel.
    ///
    /// # Errors
    /// `not_found`, `not_assigned`.
    pub fn api_read(&self, store: &mut dyn Store, channel: &str, actor: &Actor, session: &str, seq: u64) -> R<Receipts> {
        let row = self.channel_session(store, channel, session)?;
        let agent = match actor {
            Actor::Agent(a) if row.agent.as_deref() == Some(a.as_str()) => Some(a.as_str()),
            Actor::Agent(_) => return Err(AppError::AgentWrite(AgentWriteError::NotAssigned)),
            Actor::System(_) => row.agent.as_deref(),
        };
        match self.mark_agent_read(store, &row.conversation, session, agent, seq)? {
            Some(r) => Ok(r),
            None => Ok(store.receipts(&row.conversation)?),
        }
    }

    fn mark_agent_read(&self, store: &mut dyn Store, conversation: &str, session: &str, agent: Option<&str>, seq: u64) -> R<Option<Receipts>> {
        let Some(receipts) = store.raise_receipt(conversation, ReceiptMark::AgentRead, seq)? else { return Ok(None) };
        let mut events = vec![Event::Visitor { conversation: conversation.into(), event: VisitorEvent::Read { seq: receipts.agent_read_seq } }];
        // The agent's other desks (another tab) clear their unread marks too.
        if let Some(agent) = agent {
            events.push(Event::Agent { agent: agent.into(), event: AgentEvent::Receipts { session: session.into(), receipts } });
        }
        self.publish(events);
        Ok(Some(receipts))
    }
}
