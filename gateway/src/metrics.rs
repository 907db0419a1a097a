//! Prometheus counters, written in the text exposition format by hand (no registry needed).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The gateway's counters.
#[derive(Default)]
pub struct Metrics {
    launches: Mutex<BTreeMap<String, u64>>,
    messages: Mutex<BTreeMap<&'static str, u64>>,
    sessions_opened: AtomicU64,
    sessions_closed: AtomicU64,
    uploads: AtomicU64,
    upload_bytes: AtomicU64,
    rate_limited: AtomicU64,
    sockets_full: AtomicU64,
    handoffs: AtomicU64,
    gaps_filled: AtomicU64,
}

impl Metrics {
    /// A launch finished with `outcome` (`ok` or an error code).
    pub fn launch(&self, outcome: &str) {
        *self.launches.lock().unwrap_or_else(|e| e.into_inner()).entry(outcome.to_string()).or_default() += 1;
    }
    /// A message was stored.
    pub fn message(&self, sender: &'static str) {
        *self.messages.lock().unwrap_or_else(|e| e.into_inner()).entry(sender).or_default() += 1;
    }
    /// A session opened.
    pub fn session_opened(&self) {
        self.sessions_opened.fetch_add(1, Relaxed);
    }
    /// A session closed.
    pub fn session_closed(&self) {
        self.sessions_closed.fetch_add(1, Relaxed);
    }
    /// An upload was stored.
    pub fn upload(&self, bytes: usize) {
        self.uploads.fetch_add(1, Relaxed);
        self.upload_bytes.fetch_add(bytes as u64, Relaxed);
    }
    /// A request was refused by the rate limiter.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Relaxed);
    }
    /// A socket upgrade was refused at the socket cap.
    pub fn socket_refused(&self) {
        self.sockets_full.fetch_add(1, Relaxed);
    }
    /// A handoff code was minted.
    pub fn handoff(&self) {
        self.handoffs.fetch_add(1, Relaxed);
    }

    /// A visitor socket read messages it had not been sent yet (see `http::visitor`).
    pub fn gap_filled(&self) {
        self.gaps_filled.fetch_add(1, Relaxed);
    }

    /// The exposition text, with the live gauges given by the caller.
    pub fn render(&self, visitor_sockets: usize, agent_sockets: usize) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, rows: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let launches = self.launches.lock().unwrap_or_else(|e| e.into_inner()).clone();
        counter(
            "consult_launches_total",
            "Launch requests by outcome.",
            launches.into_iter().map(|(k, v)| (format!("{{outcome=\"{k}\"}}"), v)).collect(),
        );
        let messages = self.messages.lock().unwrap_or_else(|e| e.into_inner()).clone();
        counter(
            "consult_messages_total",
            "Messages stored by sender.",
            messages.into_iter().map(|(k, v)| (format!("{{sender=\"{k}\"}}"), v)).collect(),
        );
        for (name, help, v) in [
            ("consult_sessions_opened_total", "Consult sessions opened.", &self.sessions_opened),
            ("consult_sessions_closed_total", "Consult sessions closed.", &self.sessions_closed),
            ("consult_uploads_total", "Uploads stored.", &self.uploads),
            ("consult_upload_bytes_total", "Upload bytes stored.", &self.upload_bytes),
            ("consult_rate_limited_total", "Requests refused by the per-address limiter.", &self.rate_limited),
            ("consult_sockets_refused_total", "Socket upgrades refused at the socket cap (max_sockets).", &self.sockets_full),
            ("consult_handoffs_total", "Handoff codes minted.", &self.handoffs),
            ("consult_socket_gaps_filled_total", "Times a visitor socket read from the database messages published to it out of order or lost.", &self.gaps_filled),
        ] {
            counter(name, help, vec![(String::new(), v.load(Relaxed))]);
        }
        for (name, help, v) in [
            ("consult_visitor_sockets", "Visitor WebSockets connected.", visitor_sockets),
            ("consult_agent_sockets", "Agent WebSockets connected.", agent_sockets),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
