//! The one place events reach sockets: [`Core::publish`] turns what an operation reported
//! ([`Event`]) into hub sends. Inside a storage job the hub holds each send until the job's
//! batch commits (see [`crate::hub::outbox`]), so nobody hears of a write a failed commit lost.

use consult_sdk::protocol::{AgentEvent, VisitorEvent};

use crate::core::Core;
use crate::rules::Event;

impl Core {
    /// Sends each event to whoever should hear of it, in order.
    pub fn publish(&self, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Message { conversation, session, assignee, message } => {
                    self.hub.to_visitors(&conversation, &VisitorEvent::Message { message: message.clone() });
                    if let Some(session) = session {
                        let event = AgentEvent::Message { session: session.clone(), message };
                        self.to_followers(&session, assignee.as_deref(), None, &event);
                    }
                }
                Event::State { conversation, state, queue_position, agent, reason } => {
                    let agent_name = agent.as_deref().map(|a| self.agent_name(a));
                    self.hub.to_visitors(&conversation, &VisitorEvent::State { state, queue_position, agent_name, reason });
                }
                Event::Session(summary) => {
                    let channel = summary.channel.clone();
                    self.to_channel_desks(&channel, &AgentEvent::Session { session: summary });
                }
                Event::Left { agent, session } => self.hub.to_agent(&agent, &AgentEvent::Session { session }),
                Event::Closing { conversation, secs } => self.hub.to_visitors(&conversation, &VisitorEvent::Closing { secs }),
                Event::Quiet { agent, session } => self.hub.to_agent(&agent, &AgentEvent::Quiet { session }),
                Event::Tags { channel, session, tags } => self.to_channel_desks(&channel, &AgentEvent::Tags { session, tags }),
                Event::Followers { session, assignee, except, event } => self.to_followers(&session, assignee.as_deref(), except.as_deref(), &event),
                Event::Agent { agent, event } => self.hub.to_agent(&agent, &event),
                Event::Desks(event) => self.to_desks(&event),
                Event::Visitor { conversation, event } => self.hub.to_visitors(&conversation, &event),
                Event::Ended { conversation, last } => self.hub.end_conversation(&conversation, &last),
                Event::Presence => self.to_desks(&AgentEvent::Presence { agents: self.agent_infos() }),
            }
        }
    }

    /// Every online desk, on any node.
    fn to_desks(&self, event: &AgentEvent) {
        for agent in self.hub.online_agents() {
            self.hub.to_agent(&agent, event);
        }
    }

    /// Every online desk of an agent who works `channel`.
    fn to_channel_desks(&self, channel: &str, event: &AgentEvent) {
        for agent in self.hub.online_agents() {
            if self.agent(&agent).is_some_and(|a| a.works(channel)) {
                self.hub.to_agent(&agent, event);
            }
        }
    }

    /// A session's assignee and the supervisors watching it, except `except`.
    fn to_followers(&self, session: &str, assignee: Option<&str>, except: Option<&str>, event: &AgentEvent) {
        if let Some(a) = assignee.filter(|a| Some(*a) != except) {
            self.hub.to_agent(a, event);
        }
        self.hub.to_watchers(session, except.or(assignee), event);
    }
}
