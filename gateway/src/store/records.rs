//! What the operations side stores beside the chat itself: session milestones for reports,
//! ratings, internal notes, the audit log, and one visitor's data for export or erasure.

use serde::{Deserialize, Serialize};

/// A milestone of a session, written once (the first time it happens) except transfers, which
/// count. Reports read these columns, never messages, so they survive retention and erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionMark {
    /// The session opened from this entry point (`button`, or how it came: `printed`, `handoff`).
    Opened {
        /// Entry point label for reports.
        entry: String,
    },
    /// It entered the queue (waiting for a person).
    Queued,
    /// A person got it (first assignment).
    Assigned,
    /// The first agent message.
    FirstReply,
    /// Handed from one agent to another.
    Transfer,
}

/// One session as the reports count it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Channel.
    pub channel: String,
    /// Entry point label (see [`SessionMark::Opened`]); `None` for sessions from before marks.
    pub entry: Option<String>,
    /// Bot category, if one was chosen.
    pub category: Option<String>,
    /// The agent who had it last.
    pub agent: Option<String>,
    /// Opened, ms.
    pub opened_ms: u64,
    /// Entered the queue, ms.
    pub queued_ms: Option<u64>,
    /// First assigned, ms.
    pub assigned_ms: Option<u64>,
    /// First agent message, ms.
    pub first_reply_ms: Option<u64>,
    /// Closed, ms.
    pub closed_ms: Option<u64>,
    /// Transfers between agents.
    pub transfers: u32,
    /// The visitor's rating, 1 to 5.
    pub rating: Option<u8>,
}

/// What an admin changed about an agent at runtime (the agent itself comes from the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentAccount {
    /// Signed out everywhere and refused at sign-in.
    pub disabled: bool,
    /// A password an admin set (argon2id PHC string); wins over the file's.
    pub password_hash: Option<String>,
}

/// One thing an admin changed at runtime (an agent, a channel's hours…), stored as JSON with
/// the version a later change must name (see [`crate::runtime`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEntry {
    /// `agent:<id>`, `hours:<channel>`…
    pub name: String,
    /// 1 after the first write, one more with each.
    pub version: u64,
    /// JSON (empty for entries that only carry a version).
    pub value: String,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log (0 before it is stored).
    pub id: u64,
    /// When, Unix ms.
    pub at_ms: u64,
    /// Agent id, or `system`.
    pub actor: String,
    /// `sign_in`, `block`, `unblock`, `transfer`, `reassign`, `close`, `export`, `erase`, `config`…
    pub action: String,
    /// Channel concerned, if one.
    pub channel: Option<String>,
    /// Session id, user key or agent id acted on.
    pub target: Option<String>,
    /// A short description (never message text).
    pub detail: String,
}

/// What to read from the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only these channels, plus lines with no channel.
    pub channels: Vec<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From (inclusive), ms.
    pub from_ms: u64,
    /// To (exclusive), ms.
    pub to_ms: u64,
    /// At most this many, newest first.
    pub limit: u32,
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseCounts {
    /// Sessions kept for counting, their user key, context, page, tags, notes and comment gone.
    pub sessions: u64,
    /// Messages deleted.
    pub messages: u64,
    /// Attachments deleted.
    pub attachments: u64,
    /// Blob keys of the attachments deleted: the caller deletes them after the commit.
    #[serde(skip)]
    pub blobs: Vec<String>,
}
