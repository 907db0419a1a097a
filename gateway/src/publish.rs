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
                Event::HandedOff { conversation, handle } => self.hub.hand_off(&conversation, &handle),
                Event::SignedOut { agent } => self.hub.end_agent(&agent),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use consult_sdk::protocol::{ChatMessage, Sender, SessionState};
    use tokio::sync::mpsc::Receiver;

    use super::*;
    use crate::config::Config;
    use crate::hub::{Hub, VisitorOut};
    use crate::rules::fixtures::session;

    /// Shop: mina (agent), boss (supervisor); elsewhere: otto, who works another channel.
    fn core() -> Core {
        let toml = r#"
[[channels]]
id = "shop"
guidance = "hi"
keys = { k1 = "ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }
[[channels]]
id = "other"
guidance = "hi"
keys = { k1 = "ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }
[[agents]]
id = "mina"
name = "Mina"
password = "pw"
channels = ["shop"]
[[agents]]
id = "boss"
name = "Boss"
password = "pw"
role = "supervisor"
channels = ["shop"]
[[agents]]
id = "otto"
name = "Otto"
password = "pw"
channels = ["other"]
"#;
        let config = Config::from_toml(toml).unwrap();
        let directory = Arc::new(crate::runtime::AgentDirectory::seeded(&config));
        let settings = Arc::new(crate::settings::ChannelSettings::seeded(&config));
        Core {
            config: Arc::new(config),
            hub: Arc::new(Hub::default()),
            metrics: Arc::default(),
            leader: Arc::default(),
            switches: Arc::default(),
            directory,
            settings,
        }
    }

    fn agent_events(rx: &mut Receiver<AgentEvent>) -> Vec<AgentEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    fn visitor_events(rx: &mut Receiver<VisitorOut>) -> Vec<VisitorEvent> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|out| match out {
                VisitorOut::Event(e) | VisitorOut::Last(e) => (*e).clone(),
            })
            .collect()
    }

    #[test]
    fn each_event_reaches_exactly_who_should_hear_of_it() {
        let core = core();
        let (_, mut visitor) = core.hub.add_visitor("c-s1", "h1");
        let (_, mut mina) = core.hub.add_agent("mina", [1; 32]);
        let (_, mut boss) = core.hub.add_agent("boss", [2; 32]);
        let (_, mut otto) = core.hub.add_agent("otto", [3; 32]);
        core.hub.watch("s1", "boss", true);
        let row = session("s1", SessionState::Assigned, Some("mina"));
        let message = ChatMessage { seq: 1, sender: Sender::Visitor, body: consult_sdk::protocol::Body::Text { text: "hi".into() }, at_ms: 1, client_id: None };
        // Outside a storage job the hub sends at once.
        core.publish(vec![
            Event::Message { conversation: "c-s1".into(), session: Some("s1".into()), assignee: Some("mina".into()), message: message.clone() },
            Event::State { conversation: "c-s1".into(), state: SessionState::Assigned, queue_position: None, agent: Some("mina".into()), reason: None },
            Event::Session(row.summary()),
        ]);
        let seen = visitor_events(&mut visitor);
        assert!(matches!(&seen[..], [VisitorEvent::Message { .. }, VisitorEvent::State { agent_name: Some(name), .. }] if name == "Mina"), "{seen:?}");
        // The assignee and the watching supervisor get the message; every desk of the shop the
        // session change; otto, of another channel, nothing.
        assert!(matches!(&agent_events(&mut mina)[..], [AgentEvent::Message { .. }, AgentEvent::Session { .. }]));
        assert!(matches!(&agent_events(&mut boss)[..], [AgentEvent::Message { .. }, AgentEvent::Session { .. }]));
        assert!(agent_events(&mut otto).is_empty());

        // A note: the author is answered already, so only the others following hear of it.
        let notes = AgentEvent::Notes { session: "s1".into(), notes: vec![], rating: None };
        core.publish(vec![Event::Followers { session: "s1".into(), assignee: Some("mina".into()), except: Some("boss".into()), event: notes }]);
        assert_eq!(agent_events(&mut mina).len(), 1);
        assert!(agent_events(&mut boss).is_empty());

        // Presence and canned answers go to every desk; quiet to the one agent.
        core.publish(vec![Event::Presence, Event::Quiet { agent: "mina".into(), session: "s1".into() }]);
        assert!(matches!(&agent_events(&mut mina)[..], [AgentEvent::Presence { agents }, AgentEvent::Quiet { .. }] if agents.len() == 3));
        assert_eq!(agent_events(&mut otto).len(), 1);

        // A block ends the visitor's sockets with the last word.
        core.publish(vec![Event::Ended { conversation: "c-s1".into(), last: VisitorEvent::HandedOff }]);
        assert_eq!(visitor_events(&mut visitor), [VisitorEvent::HandedOff]);
        assert_eq!(core.hub.visitor_count(), 0);
    }
}
