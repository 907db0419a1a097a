//! Who is connected: visitor sockets by conversation, agent sockets by agent. Publishing never
//! blocks: a socket whose queue is full is dropped and resumes with `after_seq` on reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use consult_sdk::protocol::{AgentEvent, VisitorEvent};
use tokio::sync::mpsc;

/// Per-socket queue length.
const QUEUE: usize = 512;

/// What a visitor socket task receives. Shared, not copied, per socket: a queue slot is a
/// pointer, so an idle socket's queue costs bytes, and a fan-out clones nothing.
#[derive(Debug)]
pub enum VisitorOut {
    /// An event to send.
    Event(Arc<VisitorEvent>),
    /// Send this event, then close the socket.
    Last(Arc<VisitorEvent>),
}

struct VisitorConn {
    id: u64,
    handle: String,
    tx: mpsc::Sender<VisitorOut>,
}

struct AgentConn {
    id: u64,
    /// SHA-256 of the sign-in token the socket said hello with: signing out ends it.
    token: [u8; 32],
    tx: mpsc::Sender<AgentEvent>,
}

#[derive(Default)]
struct Presence {
    available: bool,
    conns: Vec<AgentConn>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    visitors: HashMap<String, Vec<VisitorConn>>,
    agents: HashMap<String, Presence>,
    /// Supervisors following a session read-only, by session id.
    watchers: HashMap<String, Vec<String>>,
}

/// The connection registry. Cheap to clone (one shared registry).
#[derive(Default, Clone)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    /// Other gateway nodes, when this one is part of a cluster (see [`crate::cluster`]).
    peers: Arc<std::sync::OnceLock<Arc<dyn Peers>>>,
    /// Set once the node is stopping: sockets are told to reconnect (elsewhere), not signed out.
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

/// What a node tells the other nodes, and what it hears from them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remote {
    /// [`Hub::to_visitors`].
    #[allow(missing_docs)]
    Visitors { conversation: String, event: VisitorEvent },
    /// [`Hub::to_agent`].
    #[allow(missing_docs)]
    Agent { agent: String, event: AgentEvent },
    /// [`Hub::end_conversation`].
    #[allow(missing_docs)]
    End { conversation: String, event: VisitorEvent },
    /// [`Hub::hand_off`].
    #[allow(missing_docs)]
    HandOff { conversation: String, handle: String },
    /// [`Hub::end_agent`].
    #[allow(missing_docs)]
    EndAgent { agent: String },
}

/// The other nodes of a cluster: told of every publish after its commit; asked who is online.
pub trait Peers: Send + Sync {
    /// Sends a publish to the other nodes.
    fn send(&self, remote: Remote);
    /// Agents online on other nodes, with their availability.
    fn agents(&self) -> Vec<(String, bool)>;
}

/// Events published while a storage job runs wait here until its batch commits (see
/// [`crate::store::Db`]): nobody is ever told of a write that a failed commit then lost, and
/// a job that is undone publishes nothing. Outside a job (no outbox open), events go at once.
pub mod outbox {
    use std::cell::RefCell;

    /// A publish waiting for its commit.
    pub type Publish = Box<dyn FnOnce() + Send>;

    thread_local! {
        static OUTBOX: RefCell<Option<Vec<Publish>>> = const { RefCell::new(None) };
    }

    /// Starts collecting this thread's publishes.
    pub fn open() {
        OUTBOX.with(|o| *o.borrow_mut() = Some(Vec::new()));
    }

    /// Stops collecting and returns what was collected.
    pub fn take() -> Vec<Publish> {
        OUTBOX.with(|o| o.borrow_mut().take()).unwrap_or_default()
    }

    /// Holds `publish` for the commit when collecting; hands it back otherwise.
    pub(crate) fn defer(publish: Publish) -> Option<Publish> {
        OUTBOX.with(|o| match o.borrow_mut().as_mut() {
            Some(list) => {
                list.push(publish);
                None
            }
            None => Some(publish),
        })
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a visitor socket of a conversation opened with `handle`.
    pub fn add_visitor(&self, conversation: &str, handle: &str) -> (u64, mpsc::Receiver<VisitorOut>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.visitors.entry(conversation.into()).or_default().push(VisitorConn { id, handle: handle.into(), tx });
        (id, rx)
    }

    /// Forgets a visitor socket.
    pub fn remove_visitor(&self, conversation: &str, id: u64) {
        let mut inner = self.lock();
        if let Some(list) = inner.visitors.get_mut(conversation) {
            list.retain(|c| c.id != id);
            if list.is_empty() {
                inner.visitors.remove(conversation);
            }
        }
    }

    /// Runs `f` now, or after the current storage batch commits when called inside one.
    fn after_commit(&self, f: impl FnOnce(&Hub) + Send + 'static) {
        let hub = self.clone();
        if let Some(now) = outbox::defer(Box::new(move || f(&hub))) {
            now();
        }
    }

    /// The node is stopping: every socket's queue ends, so each socket closes with 1012 (service
    /// restart) and its client reconnects — to another node behind a load balancer.
    pub fn stop(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut inner = self.lock();
        inner.visitors.clear();
        inner.agents.clear();
    }

    /// True once [`Hub::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Joins a cluster: from now on every publish also goes to the other nodes.
    pub fn join(&self, peers: Arc<dyn Peers>) {
        let _ = self.peers.set(peers);
    }

    fn tell_peers(&self, remote: impl FnOnce() -> Remote) {
        if let Some(peers) = self.peers.get().cloned() {
            let remote = remote();
            self.after_commit(move |_| peers.send(remote));
        }
    }

    /// Delivers what another node published to this node's sockets.
    pub fn deliver(&self, remote: Remote) {
        match remote {
            Remote::Visitors { conversation, event } => self.to_visitors_now(&conversation, &event),
            Remote::Agent { agent, event } => self.to_agent_now(&agent, &event),
            Remote::End { conversation, event } => self.end_conversation_now(&conversation, &event),
            Remote::HandOff { conversation, handle } => self.hand_off_now(&conversation, &handle),
            Remote::EndAgent { agent } => self.remove_agent_conns(&agent, |_| true),
        }
    }

    /// This node's agents with their availability (what it tells the other nodes).
    pub fn local_agents(&self) -> Vec<(String, bool)> {
        self.lock().agents.iter().filter(|(_, p)| !p.conns.is_empty()).map(|(a, p)| (a.clone(), p.available)).collect()
    }

    fn remote_agents(&self) -> Vec<(String, bool)> {
        self.peers.get().map(|p| p.agents()).unwrap_or_default()
    }

    /// Sends an event to every socket of a conversation (after the commit, inside a job).
    pub fn to_visitors(&self, conversation: &str, event: &VisitorEvent) {
        let (conversation, event) = (conversation.to_string(), event.clone());
        self.tell_peers(|| Remote::Visitors { conversation: conversation.clone(), event: event.clone() });
        self.after_commit(move |hub| hub.to_visitors_now(&conversation, &event));
    }

    fn to_visitors_now(&self, conversation: &str, event: &VisitorEvent) {
        let mut inner = self.lock();
        if let Some(list) = inner.visitors.get_mut(conversation) {
            let event = Arc::new(event.clone());
            list.retain(|c| c.tx.try_send(VisitorOut::Event(event.clone())).is_ok());
        }
    }

    /// Tells the sockets opened with `handle` that a phone took over, and closes them.
    pub fn hand_off(&self, conversation: &str, handle: &str) {
        let (conversation, handle) = (conversation.to_string(), handle.to_string());
        self.tell_peers(|| Remote::HandOff { conversation: conversation.clone(), handle: handle.clone() });
        self.after_commit(move |hub| hub.hand_off_now(&conversation, &handle));
    }

    fn hand_off_now(&self, conversation: &str, handle: &str) {
        let mut inner = self.lock();
        if let Some(list) = inner.visitors.get_mut(conversation) {
            list.retain(|c| {
                if c.handle == handle {
                    let _ = c.tx.try_send(VisitorOut::Last(Arc::new(VisitorEvent::HandedOff)));
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Closes every desk socket of `agent`, on every node, after the commit (disabled, or a new
    /// password: their sign-ins are gone).
    pub fn end_agent(&self, agent: &str) {
        let agent = agent.to_string();
        self.tell_peers(|| Remote::EndAgent { agent: agent.clone() });
        self.after_commit(move |hub| hub.remove_agent_conns(&agent, |_| true));
    }

    /// Sends `last` to every socket of a conversation and closes them (a block ends them all).
    pub fn end_conversation(&self, conversation: &str, last: &VisitorEvent) {
        let (conversation, last) = (conversation.to_string(), last.clone());
        self.tell_peers(|| Remote::End { conversation: conversation.clone(), event: last.clone() });
        self.after_commit(move |hub| hub.end_conversation_now(&conversation, &last));
    }

    fn end_conversation_now(&self, conversation: &str, last: &VisitorEvent) {
        if let Some(list) = self.lock().visitors.remove(conversation) {
            for c in list {
                let _ = c.tx.try_send(VisitorOut::Last(Arc::new(last.clone())));
            }
        }
    }

    /// Visitor sockets connected now.
    pub fn visitor_count(&self) -> usize {
        self.lock().visitors.values().map(Vec::len).sum()
    }

    /// Registers an agent socket opened with the token whose SHA-256 is `token`.
    pub fn add_agent(&self, agent: &str, token: [u8; 32]) -> (u64, mpsc::Receiver<AgentEvent>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.agents.entry(agent.into()).or_default().conns.push(AgentConn { id, token, tx });
        (id, rx)
    }

    /// Forgets an agent socket; an agent with no socket left is unavailable.
    pub fn remove_agent(&self, agent: &str, id: u64) {
        self.remove_agent_conns(agent, |c| c.id == id);
    }

    /// Closes every socket opened with a token (sign-out): their queues end, so their tasks end.
    pub fn end_agent_token(&self, token: &[u8; 32]) {
        let agents: Vec<String> = self.lock().agents.keys().cloned().collect();
        for agent in agents {
            self.remove_agent_conns(&agent, |c| &c.token == token);
        }
    }

    fn remove_agent_conns(&self, agent: &str, gone: impl Fn(&AgentConn) -> bool) {
        let mut inner = self.lock();
        if let Some(p) = inner.agents.get_mut(agent) {
            p.conns.retain(|c| !gone(c));
            if p.conns.is_empty() {
                inner.agents.remove(agent);
                inner.watchers.retain(|_, w| {
                    w.retain(|a| a != agent);
                    !w.is_empty()
                });
            }
        }
    }

    /// Sets availability for automatic assignment.
    pub fn set_available(&self, agent: &str, available: bool) {
        if let Some(p) = self.lock().agents.get_mut(agent) {
            p.available = available;
        }
    }

    /// Online and available for automatic assignment.
    pub fn is_available(&self, agent: &str) -> bool {
        self.lock().agents.get(agent).is_some_and(|p| p.available && !p.conns.is_empty())
            || self.remote_agents().iter().any(|(a, available)| a == agent && *available)
    }

    /// Agents with at least one socket, on this node or (in a cluster) another.
    pub fn online_agents(&self) -> Vec<String> {
        let mut agents: Vec<String> = self.lock().agents.keys().cloned().collect();
        for (a, _) in self.remote_agents() {
            if !agents.contains(&a) {
                agents.push(a);
            }
        }
        agents
    }

    /// Agents with a socket on this node.
    pub fn local_online_agents(&self) -> Vec<String> {
        self.lock().agents.keys().cloned().collect()
    }

    /// Agent sockets connected now.
    pub fn agent_socket_count(&self) -> usize {
        self.lock().agents.values().map(|p| p.conns.len()).sum()
    }

    /// Sends an event to every socket of an agent (after the commit, inside a job).
    pub fn to_agent(&self, agent: &str, event: &AgentEvent) {
        let (agent, event) = (agent.to_string(), event.clone());
        if !self.lock().agents.contains_key(&agent) {
            // Not connected here: maybe on another node.
            self.tell_peers(|| Remote::Agent { agent: agent.clone(), event: event.clone() });
        }
        self.after_commit(move |hub| hub.to_agent_now(&agent, &event));
    }

    fn to_agent_now(&self, agent: &str, event: &AgentEvent) {
        let mut inner = self.lock();
        if let Some(p) = inner.agents.get_mut(agent) {
            p.conns.retain(|c| c.tx.try_send(event.clone()).is_ok());
        }
    }

    /// A supervisor follows a session's events read-only (`on`), or stops.
    pub fn watch(&self, session: &str, agent: &str, on: bool) {
        let mut inner = self.lock();
        let list = inner.watchers.entry(session.into()).or_default();
        list.retain(|a| a != agent);
        if on {
            list.push(agent.into());
        }
        if list.is_empty() {
            inner.watchers.remove(session);
        }
    }

    /// Sends an event to every agent following a session, except `skip` (its assignee, who
    /// gets it anyway).
    pub fn to_watchers(&self, session: &str, skip: Option<&str>, event: &AgentEvent) {
        let watchers = self.lock().watchers.get(session).cloned().unwrap_or_default();
        for a in watchers.iter().filter(|a| Some(a.as_str()) != skip) {
            self.to_agent(a, event);
        }
    }
}
