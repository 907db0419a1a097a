//! Several gateway nodes on one PostgreSQL database.
//!
//! - **Bus**: every publish (a stored message, a session change) goes, after its commit, to the
//!   other nodes as a `NOTIFY` on the channel `consult`, sent in batches from one connection;
//!   each node `LISTEN`s on another and delivers to its own sockets. Messages carry their `seq`:
//!   a client that missed one (a node died, a notification was lost with a connection) gets the
//!   gap filled from the database when it reconnects, as on one node. A publish too big for a
//!   notification (PostgreSQL's limit is 8000 bytes: a bot's menu with long links, a session with
//!   a large context) is written to `bus_spill` in the same transaction and the notification
//!   carries its id; receivers read it from there (rows are kept a minute).
//! - **Presence**: each node announces its agents (and whether they are available) every few
//!   seconds and at once when they change; an announcement not renewed expires, so the agents of
//!   a node that died stop being assigned chats.
//! - **Lease**: timed work that must run once per cluster (inactivity closes, bot timeouts,
//!   retention) runs on the node holding a session-level advisory lock; when that node dies its
//!   connection closes, the lock is freed, and another node takes it within seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::{Client, NoTls};
use serde::{Deserialize, Serialize};

use crate::hub::{Hub, Peers, Remote};

/// The `LISTEN`/`NOTIFY` channel.
const CHANNEL: &str = "consult";
/// How often a node announces its agents, and how long an announcement lasts.
const PRESENCE_EVERY: Duration = Duration::from_secs(3);
const PRESENCE_LASTS: Duration = Duration::from_secs(10);
/// The advisory lock key of the timed-work lease.
const LEASE_KEY: i64 = 0x636f_6e73_756c_7402;
/// PostgreSQL refuses notification payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;

#[derive(Debug, Serialize, Deserialize)]
struct Note {
    node: String,
    #[serde(flatten)]
    body: NoteBody,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
enum NoteBody {
    Publish { remote: Remote },
    Presence { agents: Vec<(String, bool)> },
    /// A note too big to notify, stored in `bus_spill` under this id.
    Spilled { id: i64 },
}

/// How long spilled notes stay readable.
const SPILL_KEEP_MS: i64 = 60_000;

/// This node's view of the others.
pub struct Cluster {
    node: String,
    out: Mutex<mpsc::Sender<NoteBody>>,
    presence: Mutex<HashMap<String, (Instant, Vec<(String, bool)>)>>,
    /// True while this node holds the timed-work lease.
    pub leader: Arc<AtomicBool>,
}

impl Peers for Cluster {
    fn send(&self, remote: Remote) {
        let _ = self.out.lock().unwrap_or_else(|e| e.into_inner()).send(NoteBody::Publish { remote });
    }

    fn agents(&self) -> Vec<(String, bool)> {
        let now = Instant::now();
        let mut presence = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        presence.retain(|_, (at, _)| now.duration_since(*at) < PRESENCE_LASTS);
        presence.values().flat_map(|(_, agents)| agents.iter().cloned()).collect()
    }
}

impl Cluster {
    /// Joins the cluster on `url`: starts the sender, the listener, the presence heartbeat and
    /// the lease, and hooks the hub up to them.
    ///
    pub fn join(url: &str, hub: &Hub, leader: Arc<AtomicBool>) -> Arc<Cluster> {
        let node = format!("n{}", crate::identity::random_token(6));
        let (tx, rx) = mpsc::channel();
        let cluster = Arc::new(Cluster { node: node.clone(), out: Mutex::new(tx), presence: Mutex::default(), leader });
        spawn("consult-bus-out", { let (url, node) = (url.to_string(), node.clone()); move || send_loop(&url, &node, rx) });
        spawn("consult-bus-in", { let (cluster, hub, url) = (cluster.clone(), hub.clone(), url.to_string()); move || listen_loop(&url, &cluster, &hub) });
        spawn("consult-presence", { let (cluster, hub) = (cluster.clone(), hub.clone()); move || loop {
            let _ = cluster.out.lock().unwrap_or_else(|e| e.into_inner()).send(NoteBody::Presence { agents: hub.local_agents() });
            std::thread::sleep(PRESENCE_EVERY);
        }});
        spawn("consult-lease", { let (cluster, url) = (cluster.clone(), url.to_string()); move || lease_loop(&url, &cluster.leader) });
        hub.join(cluster.clone());
        tracing::info!(node = %cluster.node, "joined the cluster");
        cluster
    }

    /// Announces this node's agents now (after a change), not at the next heartbeat.
    pub fn announce(&self, hub: &Hub) {
        let _ = self.out.lock().unwrap_or_else(|e| e.into_inner()).send(NoteBody::Presence { agents: hub.local_agents() });
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().name(name.into()).spawn(f).expect("spawning a cluster thread");
}

/// Sends what this node publishes, many notifications per transaction.
fn send_loop(url: &str, node: &str, rx: mpsc::Receiver<NoteBody>) {
    let mut client: Option<Client> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
            if batch.len() >= 512 {
                break;
            }
        }
        let payloads: Vec<String> = batch.into_iter().filter_map(|body| serde_json::to_string(&Note { node: node.to_string(), body }).ok()).collect();
        for attempt in 0..2 {
            if client.as_ref().is_none_or(Client::is_closed) {
                client = Client::connect(url, NoTls).map_err(|e| tracing::warn!(error = %e, "bus: cannot reach the database")).ok();
            }
            let Some(c) = client.as_mut() else { break };
            let sent = c.transaction().and_then(|mut tx| {
                let mut spilled = false;
                // Runs of notes that fit go in one round trip each, in order.
                let mut run: Vec<&str> = Vec::new();
                for p in &payloads {
                    if p.len() < MAX_PAYLOAD {
                        run.push(p);
                        continue;
                    }
                    notify_all(&mut tx, &std::mem::take(&mut run))?;
                    // Too big to notify: stored, and the notification says where.
                    let now = crate::now_ms() as i64;
                    let id: i64 = tx.query_one("INSERT INTO bus_spill(payload, created_ms) VALUES ($1, $2) RETURNING id", &[p, &now])?.get(0);
                    let note = serde_json::to_string(&Note { node: node.to_string(), body: NoteBody::Spilled { id } }).unwrap_or_default();
                    notify_all(&mut tx, &[note.as_str()])?;
                    spilled = true;
                }
                notify_all(&mut tx, &run)?;
                if spilled {
                    tx.execute("DELETE FROM bus_spill WHERE created_ms < $1", &[&(crate::now_ms() as i64 - SPILL_KEEP_MS)])?;
                }
                tx.commit()
            });
            match sent {
                Ok(()) => break,
                Err(e) if attempt == 0 => {
                    tracing::warn!(error = %e, "bus: notify failed; reconnecting");
                    client = None;
                }
                Err(e) => tracing::warn!(error = %e, "bus: notifications dropped; clients catch up by seq on reconnect"),
            }
        }
    }
}

/// Sends `payloads` as notifications in this order, in one round trip.
fn notify_all(tx: &mut postgres::Transaction<'_>, payloads: &[&str]) -> Result<(), postgres::Error> {
    if !payloads.is_empty() {
        tx.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i", &[&CHANNEL, &payloads])?;
    }
    Ok(())
}

/// Hears the other nodes and delivers to this node's sockets.
fn listen_loop(url: &str, cluster: &Cluster, hub: &Hub) {
    let mut listening = false;
    let mut connection: Option<Client> = None;
    // Reads spilled notes (the listening connection is busy with its notifications).
    let mut reader: Option<Client> = None;
    loop {
        if connection.as_ref().is_none_or(Client::is_closed) {
            listening = false;
            match Client::connect(url, NoTls) {
                Ok(c) => connection = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "bus: cannot reach the database");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let Some(client) = connection.as_mut() else { continue };
        if !listening {
            match client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                Ok(()) => listening = true,
                Err(e) => {
                    tracing::warn!(error = %e, "bus: cannot listen");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let mut notes = client.notifications();
        let mut it = notes.timeout_iter(Duration::from_secs(5));
        loop {
            match it.next() {
                Ok(Some(n)) => receive(cluster, hub, n.payload(), Some((url, &mut reader))),
                // Quiet for a while: go round to check the connection.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "bus: listening connection lost");
                    break;
                }
            }
        }
    }
}

/// A connection for reading `bus_spill`, opened when first needed.
fn spilled<'a>(url: &str, reader: &'a mut Option<Client>) -> Option<&'a mut Client> {
    if reader.as_ref().is_none_or(Client::is_closed) {
        *reader = Client::connect(url, NoTls).map_err(|e| tracing::warn!(error = %e, "bus: cannot read a spilled note")).ok();
    }
    reader.as_mut()
}

/// Delivers one note; `reader` (the URL and a connection) reads spilled notes.
fn receive(cluster: &Cluster, hub: &Hub, payload: &str, reader: Option<(&str, &mut Option<Client>)>) {
    let Ok(note) = serde_json::from_str::<Note>(payload) else { return };
    if note.node == cluster.node {
        return;
    }
    match note.body {
        NoteBody::Publish { remote } => hub.deliver(remote),
        NoteBody::Presence { agents } => {
            cluster.presence.lock().unwrap_or_else(|e| e.into_inner()).insert(note.node, (Instant::now(), agents));
        }
        NoteBody::Spilled { id } => {
            let stored = reader
                .and_then(|(url, r)| spilled(url, r))
                .and_then(|c| c.query_opt("SELECT payload FROM bus_spill WHERE id = $1", &[&id]).ok().flatten());
            match stored {
                // Never a spill of a spill: the stored note is delivered as it was sent.
                Some(row) => receive(cluster, hub, row.get::<_, &str>(0), None),
                None => tracing::warn!(id, "bus: a spilled note is gone; clients catch up by seq on reconnect"),
            }
        }
    }
}

/// Holds the timed-work lease while this node's connection lives.
fn lease_loop(url: &str, leader: &AtomicBool) {
    let mut client: Option<Client> = None;
    loop {
        if client.as_ref().is_none_or(Client::is_closed) {
            leader.store(false, Ordering::SeqCst);
            client = Client::connect(url, NoTls).ok();
        }
        if let Some(c) = client.as_mut() {
            if leader.load(Ordering::SeqCst) {
                // Still connected means still held; a cheap round trip proves it.
                if c.simple_query("SELECT 1").is_err() {
                    leader.store(false, Ordering::SeqCst);
                    client = None;
                }
            } else if let Ok(row) = c.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_KEY]) {
                let got: bool = row.get(0);
                if got {
                    tracing::info!("this node runs the cluster's timed work (lease taken)");
                }
                leader.store(got, Ordering::SeqCst);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
