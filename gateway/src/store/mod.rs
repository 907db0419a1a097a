//! Storage: a small trait ([`Store`]) with a SQLite implementation, run on one dedicated thread
//! ([`Db`]) so the async runtime never blocks on disk. One writer also serialises every rule that
//! must be atomic (visitor speaks first, no agent message outside an open session).

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(test)]
pub(crate) mod conformance;
mod records;
mod sqlite;
mod sqlite_ops;
mod counsel_rows;
mod sqlite_counsel;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use consult_sdk::Membership;
use consult_sdk::protocol::{Body, ChatMessage, CloseReason, EntryView, Sender, SessionState, SessionSummary};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use records::{AgentAccount, RuntimeEntry, AuditEntry, AuditFilter, EraseCounts, ReportRow, SessionMark};
pub use sqlite::SqliteStore;
pub use counsel_rows::{ApiKeyRow, DeliveryOutcome, DueDelivery, EndpointRow};

/// Which of a conversation's receipt marks moves (see [`consult_sdk::protocol::Receipts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptMark {
    /// Messages written to one of the visitor's sockets.
    VisitorDelivered,
    /// Messages the visitor's open chat showed.
    VisitorRead,
    /// Messages the agent side read.
    AgentRead,
}

/// A storage failure; the cause is logged, never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no (or is unreachable).
    #[cfg(feature = "postgres")]
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database could not be reached: no connection in time, or it broke during a batch
    /// (then nothing of the batch was written). Retryable.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// A statement answered another number of rows than its caller reads.
    #[error("the database answered {got} rows where {expected} was expected")]
    Rows {
        /// How many were expected.
        expected: &'static str,
        /// How many came.
        got: usize,
    },
    /// The database URL names a kind this build can't open.
    #[error("{0}")]
    UnsupportedDatabase(String),
    /// A stored JSON column did not parse.
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// Syncing the database's files, or starting a thread for it, failed.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// The database thread is gone.
    #[error("database thread stopped")]
    Stopped,
    /// The storage queue is full or the job waited too long; nothing was written.
    #[error("the database is busy")]
    Busy,
    /// The batch this job was part of failed to commit; nothing of it was written.
    #[error("commit failed: {0}")]
    Commit(String),
}

impl StoreError {
    /// The database could not be reached (down, restarting, a broken connection): the request
    /// may be retried; nothing is wrong with it or with the data.
    pub fn is_unreachable(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) => {
                // Class 08: connection exceptions; 57P: the server shutting down or starting up.
                let code = e.code().map(tokio_postgres::error::SqlState::code).unwrap_or_default();
                e.is_closed() || code.starts_with("08") || code.starts_with("57P") || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
            }
            StoreError::Unreachable(_) => true,
            _ => false,
        }
    }
}

/// Result of storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// What a launch said about where it came from and who pressed it; applied to the next session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchContext {
    /// Entry point, verified and declared apart.
    pub entry: EntryView,
    /// Membership, only when signed.
    pub member: Option<Membership>,
}

/// A visitor's bearer handle resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRef {
    /// Conversation id.
    pub id: String,
    /// Channel.
    pub channel: String,
    /// Stable per-channel user key.
    pub user_key: String,
}

/// A stored consult session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Session id.
    pub id: String,
    /// Conversation it belongs to.
    pub conversation: String,
    /// Channel.
    pub channel: String,
    /// User key.
    pub user_key: String,
    /// State.
    pub state: SessionState,
    /// Launch context at opening.
    pub context: LaunchContext,
    /// Bot category.
    pub category: Option<String>,
    /// Assigned agent.
    pub agent: Option<String>,
    /// Opened, ms.
    pub opened_ms: u64,
    /// Last message, ms.
    pub last_ms: u64,
    /// Last visitor message, ms.
    pub last_visitor_ms: u64,
    /// Highest seq of this session.
    pub last_seq: u64,
    /// Why it closed.
    pub close_reason: Option<CloseReason>,
    /// Earlier sessions of the same user key.
    pub earlier_sessions: u32,
    /// The visitor's latest message in this session, shortened (see [`preview_of`]).
    pub preview: Option<String>,
    /// The page the visitor declared last during this session (unverified; never part of
    /// `context`, which stays what the launch said).
    pub current_page: Option<String>,
}

/// How long a visitor handle works after its launch; then the widget launches afresh.
pub const HANDLE_TTL_MS: u64 = 7 * 86_400_000;

/// Longest message preview, in characters, before the ellipsis.
pub const PREVIEW_CHARS: usize = 120;

/// A one-line preview of a message for the desk's lists: text shortened to [`PREVIEW_CHARS`]
/// characters with whitespace runs folded, `[photo]` or `[file]` for attachments.
pub fn preview_of(body: &Body) -> String {
    match body {
        Body::Text { text } | Body::Menu { text, .. } | Body::Cards { text, .. } => {
            let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
            match folded.char_indices().nth(PREVIEW_CHARS) {
                Some((cut, _)) => format!("{}…", folded[..cut].trim_end()),
                None => folded,
            }
        }
        Body::Image { .. } => "[photo]".into(),
        Body::File { .. } => "[file]".into(),
    }
}

impl SessionRow {
    /// Open means any state but closed.
    pub fn is_open(&self) -> bool {
        self.state != SessionState::Closed
    }

    /// The desk's view.
    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            id: self.id.clone(),
            channel: self.channel.clone(),
            user_key: self.user_key.clone(),
            state: self.state,
            entry: self.context.entry.clone(),
            member: self.context.member.clone(),
            category: self.category.clone(),
            agent: self.agent.clone(),
            opened_ms: self.opened_ms,
            last_ms: self.last_ms,
            last_seq: self.last_seq,
            earlier_sessions: self.earlier_sessions,
            preview: self.preview.clone(),
            current_page: self.current_page.clone(),
        }
    }
}

/// How a visitor message that finds no open session opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenAs {
    /// The bot menu runs first.
    Bot,
    /// Straight to the queue with this category.
    Queued(Option<String>),
}

/// A visitor message stored.
#[derive(Debug, Clone)]
pub struct VisitorWrite {
    /// The stored message (the earlier one, for a retried client id).
    pub message: ChatMessage,
    /// True when the client id had been stored before: nothing new was written.
    pub duplicate: bool,
    /// The session the message belongs to, after the write.
    pub session: SessionRow,
    /// True when this message opened the session.
    pub opened: bool,
}

/// Why an agent write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgentWriteError {
    /// No such session.
    #[error("no such session")]
    UnknownSession,
    /// The session is closed (or never opened): the visitor must write first.
    #[error("the session is not open; the visitor must write first")]
    NotOpen,
    /// Another agent (or nobody) is assigned.
    #[error("this session is not assigned to you")]
    NotAssigned,
}

/// A stored attachment.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Id.
    pub id: String,
    /// Conversation it was uploaded into (visitor) or `None` (agent).
    pub conversation: Option<String>,
    /// Uploading agent, if any.
    pub agent: Option<String>,
    /// Sniffed MIME type.
    pub mime: String,
    /// Display name.
    pub name: String,
    /// Length of the bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Where the bytes are.
    pub bytes: AttachmentBytes,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentBytes {
    /// In the blob store ([`crate::blob`]) under this key: every upload since blobs left the
    /// database.
    Blob(String),
    /// In the row itself: uploads stored before that, still served from the row.
    Inline(Vec<u8>),
}

impl AttachmentBytes {
    /// The blob key, if the bytes are in the blob store.
    pub fn blob_key(&self) -> Option<&str> {
        match self {
            AttachmentBytes::Blob(k) => Some(k),
            AttachmentBytes::Inline(_) => None,
        }
    }
}

impl Attachment {
    /// The row's columns as both stores keep them: `blob_key` and `sha256` are NULL on rows
    /// written before blobs left the database, whose `data` holds the bytes (the digest is then
    /// computed here).
    pub(crate) fn bytes_from_columns(blob_key: Option<String>, sha256: Option<String>, data: Option<Vec<u8>>) -> (AttachmentBytes, String) {
        match blob_key {
            Some(key) => (AttachmentBytes::Blob(key), sha256.unwrap_or_default()),
            None => {
                let data = data.unwrap_or_default();
                let digest = sha256.unwrap_or_else(|| crate::blob::sha256_hex(&data));
                (AttachmentBytes::Inline(data), digest)
            }
        }
    }

    /// The `data` column of the row: the bytes of an inline row, empty for a blob.
    pub(crate) fn data_column(&self) -> &[u8] {
        match &self.bytes {
            AttachmentBytes::Inline(d) => d,
            AttachmentBytes::Blob(_) => &[],
        }
    }
}

/// What a retention purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Messages deleted.
    pub messages: u64,
    /// Blob keys of the attachment rows deleted: the caller deletes them after the commit.
    pub blobs: Vec<String>,
}

/// The storage operations the gateway needs. Every method is atomic on its own (a savepoint),
/// and runs inside the storage thread's batch transaction (see [`Db`]).
pub trait Store: Send {
    /// One step of the storage thread's group commit.
    fn batch(&mut self, step: BatchStep) -> StoreResult<()>;
    /// When commits are not yet durable on their own: what makes every commit so far durable
    /// (SQLite: an `fdatasync` of its write-ahead log). The storage thread then runs it on a
    /// second thread, so the next batch runs while the last one's sync is on the disk.
    fn durable_sync(&mut self) -> Option<DurableSync> {
        None
    }
    /// How long a batch may keep taking jobs before it commits; `None`: until the queue is empty
    /// or [`MAX_BATCH`] (SQLite's jobs take microseconds, so that bound is enough). A store whose
    /// every statement is a network round trip sets one, or a full batch would hold every answer
    /// for a second.
    fn batch_budget(&self) -> Option<Duration> {
        None
    }
    /// A per-channel secret (`purpose`: `user_key`, `handoff`), created on first use.
    fn channel_secret(&mut self, channel: &str, purpose: &str) -> StoreResult<[u8; 32]>;
    /// Finds or creates the conversation of `(channel, user_key)`, records the launch context and
    /// issues a new visitor handle for it.
    fn launch(&mut self, channel: &str, user_key: &str, context: &LaunchContext, now_ms: u64) -> StoreResult<String>;
    /// Resolves a live visitor handle: issued less than [`HANDLE_TTL_MS`] before `now_ms` and
    /// not revoked.
    fn resolve_handle(&mut self, handle: &str, now_ms: u64) -> StoreResult<Option<ConversationRef>>;
    /// The open session of a conversation, or the last one, and the conversation's highest seq.
    fn conversation_state(&mut self, conversation: &str) -> StoreResult<(Option<SessionRow>, u64)>;
    /// Messages after `after_seq`, oldest first, at most `limit`.
    fn messages_after(&mut self, conversation: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>>;
    /// Messages of one session after `after_seq`.
    fn session_messages(&mut self, session: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>>;
    /// Stores a visitor message; opens a session as `open_as` says when none is open.
    fn visitor_write(
        &mut self,
        conversation: &str,
        client_id: &str,
        body: &Body,
        open_as: &OpenAs,
        now_ms: u64,
    ) -> StoreResult<VisitorWrite>;
    /// Stores a bot or system message in the conversation's open session (if any).
    fn system_write(&mut self, conversation: &str, sender: &Sender, body: &Body, now_ms: u64) -> StoreResult<ChatMessage>;
    /// Stores an agent message only if the session is open and assigned to the agent, atomically.
    fn agent_write(
        &mut self,
        session: &str,
        agent_id: &str,
        agent_name: &str,
        client_id: &str,
        body: &Body,
        now_ms: u64,
    ) -> StoreResult<Result<(String, ChatMessage), AgentWriteError>>;
    /// A session by id.
    fn session(&mut self, id: &str) -> StoreResult<Option<SessionRow>>;
    /// Sets state and category of an open session (bot → queued); `None` if not open.
    fn queue_session(&mut self, session: &str, category: Option<&str>, now_ms: u64) -> StoreResult<Option<SessionRow>>;
    /// Records the page the visitor declared last on an open session (unverified, kept apart
    /// from the launch context); `None` if the session is not open.
    fn set_current_page(&mut self, session: &str, page: Option<&str>) -> StoreResult<Option<SessionRow>>;
    /// Assigns a session to an agent. With `from`: only if currently assigned to `from`
    /// (transfer); without: only if queued (take, auto-assign).
    fn assign(&mut self, session: &str, agent: &str, from: Option<&str>) -> StoreResult<Option<SessionRow>>;
    /// Closes an open session and writes the closing notice; `None` if it was not open.
    fn close_session(&mut self, session: &str, reason: CloseReason, notice: &str, now_ms: u64)
    -> StoreResult<Option<(SessionRow, ChatMessage)>>;
    /// Queued sessions, oldest first.
    fn queued(&mut self) -> StoreResult<Vec<SessionRow>>;
    /// Open sessions assigned to an agent.
    fn agent_sessions(&mut self, agent: &str) -> StoreResult<Vec<SessionRow>>;
    /// Open assigned sessions per agent.
    fn agent_loads(&mut self) -> StoreResult<Vec<(String, u32)>>;
    /// One agent's open assigned sessions, counted under a lock on that agent held until the
    /// batch commits: nodes assigning to the same agent take turns, so none goes over its limit.
    fn agent_load_locked(&mut self, agent: &str) -> StoreResult<u32>;
    /// Sessions of a user key, newest first.
    fn history(&mut self, channel: &str, user_key: &str, limit: u32) -> StoreResult<Vec<SessionRow>>;
    /// Open sessions whose last message is older than `before_ms` for the channel.
    fn stale_sessions(&mut self, channel: &str, before_ms: u64) -> StoreResult<Vec<SessionRow>>;
    /// Blocks a user key until `until_ms`.
    fn block(&mut self, channel: &str, user_key: &str, until_ms: u64, reason: &str, agent: &str) -> StoreResult<()>;
    /// Whether a user key is blocked at `now_ms`.
    fn is_blocked(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<bool>;
    /// Stores an agent sign-in: the SHA-256 of the bearer token, never the token.
    fn agent_token_put(&mut self, token_sha256: &[u8; 32], agent: &str, now_ms: u64, expires_ms: u64) -> StoreResult<()>;
    /// The agent signed in under a token hash, unless it expired.
    fn agent_token_get(&mut self, token_sha256: &[u8; 32], now_ms: u64) -> StoreResult<Option<String>>;
    /// Signs a token out.
    fn agent_token_delete(&mut self, token_sha256: &[u8; 32]) -> StoreResult<()>;
    /// Records a minted handoff code bound to the desktop handle.
    fn handoff_minted(&mut self, serial: u64, handle: &str, expires_ms: u64) -> StoreResult<()>;
    /// Uses a handoff code once: revokes the desktop handle and issues the phone's.
    /// `Ok(None)` when the code was used already or is unknown.
    fn handoff_use(&mut self, serial: u64, now_ms: u64) -> StoreResult<Option<(String, String, ConversationRef)>>;
    /// Stores an attachment's row. The gateway writes [`AttachmentBytes::Blob`] rows only, after
    /// the blob is stored; [`AttachmentBytes::Inline`] is what older rows hold.
    fn put_attachment(&mut self, attachment: &Attachment, now_ms: u64) -> StoreResult<()>;
    /// Loads an attachment's row (a blob's bytes are not read here: they are fetched off the
    /// storage thread).
    fn attachment(&mut self, id: &str) -> StoreResult<Option<Attachment>>;
    /// Which of these blob keys an attachment row names (the rest are orphans, see
    /// [`crate::blob::sweep_orphans`]).
    fn blob_keys_in_use(&mut self, keys: &[String]) -> StoreResult<Vec<String>>;
    /// Retention: deletes a channel's messages and attachments older than `before_ms`, forgets
    /// the entry point and membership of sessions closed before it (and of conversations idle
    /// since), and deletes expired handles, blocks and handoff codes. Returns messages deleted
    /// and the blob keys of the attachments deleted.
    fn purge(&mut self, channel: &str, before_ms: u64, now_ms: u64) -> StoreResult<Purged>;
    /// Sessions of these channels whose user key, member id, tags or message text contain
    /// `query` (case-insensitive for ASCII), newest first.
    fn search(&mut self, channels: &[String], query: &str, limit: u32) -> StoreResult<Vec<SessionRow>>;
    /// Replaces a session's tags.
    fn set_tags(&mut self, session: &str, tags: &[String]) -> StoreResult<()>;
    /// A session's tags, in the order set.
    fn tags(&mut self, session: &str) -> StoreResult<Vec<String>>;
    /// Blocks in force on these channels at `now_ms`, newest first.
    fn blocks(&mut self, channels: &[String], now_ms: u64) -> StoreResult<Vec<consult_sdk::protocol::BlockInfo>>;
    /// Lifts every block of a user key on a channel; returns how many were lifted.
    fn unblock(&mut self, channel: &str, user_key: &str) -> StoreResult<u64>;
    /// Open sessions still with the bot, oldest first.
    fn bot_sessions(&mut self) -> StoreResult<Vec<SessionRow>>;
    /// Records a session milestone for the reports (see [`SessionMark`]).
    fn mark_session(&mut self, session: &str, mark: &SessionMark, now_ms: u64) -> StoreResult<()>;
    /// Stores the visitor's rating of a closed session; `false` when it was rated already.
    fn rate_session(&mut self, session: &str, score: u8, comment: Option<&str>, now_ms: u64) -> StoreResult<bool>;
    /// A session's rating, if given.
    fn rating(&mut self, session: &str) -> StoreResult<Option<consult_sdk::protocol::RatingInfo>>;
    /// Appends an internal note to a session.
    fn add_note(&mut self, session: &str, agent: &str, agent_name: &str, text: &str, now_ms: u64) -> StoreResult<()>;
    /// A session's notes, oldest first.
    fn notes(&mut self, session: &str) -> StoreResult<Vec<consult_sdk::protocol::NoteInfo>>;
    /// Every open session (bot, queued, assigned), oldest first.
    fn open_sessions(&mut self) -> StoreResult<Vec<SessionRow>>;
    /// Sessions of these channels opened in `[from_ms, to_ms)`, as the reports count them.
    fn report_rows(&mut self, channels: &[String], from_ms: u64, to_ms: u64) -> StoreResult<Vec<ReportRow>>;
    /// Waits (queued → assigned, ms) of the channel's sessions assigned since `since_ms`, newest
    /// first, at most `limit`.
    fn recent_waits(&mut self, channel: &str, since_ms: u64, limit: u32) -> StoreResult<Vec<u64>>;
    /// Appends a line to the audit log (which has no update or delete).
    fn audit_append(&mut self, entry: &AuditEntry) -> StoreResult<()>;
    /// Audit lines matching the filter, newest first.
    fn audit_list(&mut self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
    /// Everything stored about one user key of a channel, as JSON. An attachment in the blob
    /// store is listed with its `blob_key` (the caller adds the bytes, off the storage thread);
    /// an older one carries its bytes as `data_base64`.
    fn user_export(&mut self, channel: &str, user_key: &str) -> StoreResult<serde_json::Value>;
    /// Erases one user key of a channel: messages, attachments, handles, conversation, context,
    /// membership, tags, notes, blocks and rating comments go; sessions stay as anonymous counts.
    /// The deleted attachments' blob keys come back in [`EraseCounts::blobs`].
    fn user_erase(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<EraseCounts>;

    // --- Counsel API (issue 13): API keys, session paging, bot replies, webhook outbox. ---

    /// Stores a new API key (its hash only).
    fn api_key_put(&mut self, _key: &ApiKeyRow) -> StoreResult<()> {
        Err(StoreError::UnsupportedDatabase("api_key_put: not in this store yet".into()))
    }
    /// An API key by id.
    fn api_key_get(&mut self, _id: &str) -> StoreResult<Option<ApiKeyRow>> {
        Err(StoreError::UnsupportedDatabase("api_key_get: not in this store yet".into()))
    }
    /// A channel's API keys, newest first (revoked ones too).
    fn api_keys(&mut self, _channel: &str) -> StoreResult<Vec<ApiKeyRow>> {
        Err(StoreError::UnsupportedDatabase("api_keys: not in this store yet".into()))
    }
    /// Revokes a key of the channel; false when there is no such live key.
    fn api_key_revoke(&mut self, _channel: &str, _id: &str, _now_ms: u64) -> StoreResult<bool> {
        Err(StoreError::UnsupportedDatabase("api_key_revoke: not in this store yet".into()))
    }
    /// Records an accepted use (at most once a minute per key).
    fn api_key_used(&mut self, _id: &str, _now_ms: u64) -> StoreResult<()> {
        Err(StoreError::UnsupportedDatabase("api_key_used: not in this store yet".into()))
    }
    /// A channel's sessions (optionally in one state) opened after the cursor `(opened_ms, id)`,
    /// oldest first.
    fn counsel_sessions(&mut self, _channel: &str, _state: Option<SessionState>, _after: Option<(u64, &str)>, _limit: u32) -> StoreResult<Vec<SessionRow>> {
        Err(StoreError::UnsupportedDatabase("counsel_sessions: not in this store yet".into()))
    }
    /// Stores a bot message with a client id, only into an open session in state `bot`; a
    /// retried client id answers with the stored message (`true`: duplicate).
    fn bot_write(&mut self, _session: &str, _client_id: &str, _body: &Body, _now_ms: u64) -> StoreResult<Result<(SessionRow, ChatMessage, bool), AgentWriteError>> {
        Err(StoreError::UnsupportedDatabase("bot_write: not in this store yet".into()))
    }
    /// Creates or updates a webhook endpoint (its paused state and deliveries stay).
    fn webhook_endpoint_put(&mut self, _endpoint: &EndpointRow, _now_ms: u64) -> StoreResult<()> {
        Err(StoreError::UnsupportedDatabase("webhook_endpoint_put: not in this store yet".into()))
    }
    /// Live endpoints of a channel (all channels: `None`), with pending and failed counts.
    fn webhook_endpoints(&mut self, _channel: Option<&str>) -> StoreResult<Vec<EndpointRow>> {
        Err(StoreError::UnsupportedDatabase("webhook_endpoints: not in this store yet".into()))
    }
    /// Deletes an endpoint of the channel and its pending deliveries.
    fn webhook_endpoint_delete(&mut self, _channel: &str, _id: &str) -> StoreResult<bool> {
        Err(StoreError::UnsupportedDatabase("webhook_endpoint_delete: not in this store yet".into()))
    }
    /// The outbox: one pending delivery (`{id_base}_{endpoint}`) per endpoint of the channel that
    /// wants `event_type`, in the caller's transaction. Returns how many were written.
    fn webhook_emit(&mut self, _channel: &str, _session: Option<&str>, _event_type: &str, _payload: &str, _id_base: &str, _now_ms: u64) -> StoreResult<u64> {
        Err(StoreError::UnsupportedDatabase("webhook_emit: not in this store yet".into()))
    }
    /// Due deliveries, each the oldest pending one of its (endpoint, session), endpoint not paused.
    fn webhook_due(&mut self, _now_ms: u64, _limit: u32) -> StoreResult<Vec<DueDelivery>> {
        Err(StoreError::UnsupportedDatabase("webhook_due: not in this store yet".into()))
    }
    /// Records an attempt's outcome.
    fn webhook_outcome(&mut self, _n: i64, _outcome: &DeliveryOutcome, _now_ms: u64) -> StoreResult<()> {
        Err(StoreError::UnsupportedDatabase("webhook_outcome: not in this store yet".into()))
    }
    /// Pauses an endpoint (nothing is delivered until a replay resumes it).
    fn webhook_pause(&mut self, _endpoint: &str, _reason: &str, _now_ms: u64) -> StoreResult<()> {
        Err(StoreError::UnsupportedDatabase("webhook_pause: not in this store yet".into()))
    }
    /// An endpoint's deliveries, oldest first, optionally of one status.
    fn webhook_deliveries(&mut self, _channel: &str, _endpoint: &str, _status: Option<&str>, _limit: u32) -> StoreResult<Vec<consult_sdk::counsel::DeliveryInfo>> {
        Err(StoreError::UnsupportedDatabase("webhook_deliveries: not in this store yet".into()))
    }
    /// Resumes an endpoint and queues its failed deliveries again (same ids); `None`: no endpoint.
    fn webhook_replay(&mut self, _channel: &str, _endpoint: &str, _now_ms: u64) -> StoreResult<Option<u64>> {
        Err(StoreError::UnsupportedDatabase("webhook_replay: not in this store yet".into()))
    }

    /// Raises one of a conversation's receipt marks to `seq`, capped at its last message (a
    /// visitor's read also raises their delivered mark). `None` when nothing rose.
    fn raise_receipt(&mut self, conversation: &str, mark: ReceiptMark, seq: u64) -> StoreResult<Option<consult_sdk::protocol::Receipts>>;

    /// A conversation's receipt marks (all 0 for an unknown one).
    fn receipts(&mut self, conversation: &str) -> StoreResult<consult_sdk::protocol::Receipts>;

    /// An open session with an agent (or queued) goes back to the bot: state `bot`, no agent.
    /// `None` when it is not assigned or queued.
    fn return_to_bot(&mut self, session: &str) -> StoreResult<Option<SessionRow>>;

    /// What an admin changed about an agent (default: nothing).
    fn agent_account(&mut self, agent: &str) -> StoreResult<AgentAccount>;

    /// Every agent an admin changed.
    fn agent_accounts(&mut self) -> StoreResult<Vec<(String, AgentAccount)>>;

    /// Sets `disabled` and/or a new password hash (`None`: unchanged).
    fn set_agent_account(&mut self, agent: &str, disabled: Option<bool>, password_hash: Option<&str>) -> StoreResult<()>;

    /// Ends every sign-in of `agent`; answers the ended tokens' hashes.
    fn agent_tokens_revoke(&mut self, agent: &str) -> StoreResult<Vec<[u8; 32]>>;

    /// The canned answers, or `None` before anything was stored (the file seeds them then).
    fn canned_answers(&mut self) -> StoreResult<Option<Vec<consult_sdk::protocol::CannedAnswer>>>;

    /// Replaces the stored canned answers (in shortcut order; marks them as managed here).
    fn set_canned_answers(&mut self, answers: &[consult_sdk::protocol::CannedAnswer]) -> StoreResult<()>;

    /// Stores a channel's runtime switch (see [`crate::switches`]).
    fn set_channel_enabled(&mut self, channel: &str, enabled: bool, by: &str, now_ms: u64) -> StoreResult<()>;

    /// Every stored channel switch.
    fn channel_switches(&mut self) -> StoreResult<Vec<(String, bool)>>;

    /// The runtime entries whose name starts with `prefix`, by name.
    fn runtime_list(&mut self, prefix: &str) -> StoreResult<Vec<RuntimeEntry>>;

    /// Writes a runtime entry if its version is still `expected` (0: not written yet); answers
    /// the new version, or `None` (nothing written) when someone wrote it meanwhile.
    fn runtime_put(&mut self, name: &str, expected: u64, value: &str, by: &str, now_ms: u64) -> StoreResult<Option<u64>>;
}

/// Most jobs committed in one transaction (one fsync).
const MAX_BATCH: usize = 1024;
/// Jobs waiting at once; past this, callers are refused as `busy` at once.
pub const MAX_QUEUED: usize = 16_384;
/// A job that waited longer than this is refused as `busy` instead of run: latency stays
/// bounded for everyone and nothing half-done is stored.
pub const MAX_WAIT: Duration = Duration::from_millis(1500);

/// What a job reports after running: whether its writes stand, and how to answer its caller
/// once the batch's commit is known.
struct Done {
    keep: bool,
    answer: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

struct Job {
    queued: Instant,
    /// Runs the job (`false`) or refuses it unrun as busy (`true`).
    run: Box<dyn FnOnce(&mut dyn Store, bool) -> Done + Send>,
}

/// The storage thread's handle: send it a closure, await its answer.
///
/// Group commit: the thread takes every job waiting (up to [`MAX_BATCH`]), runs each inside its
/// own savepoint of one transaction, commits once (one fsync for all of them with
/// `durability = "full"`), and only then publishes what the jobs published and answers their
/// callers. A job whose rule fails is rolled back to its savepoint alone; a commit that fails
/// answers every job of the batch with the error and publishes nothing.
#[derive(Clone)]
pub struct Db {
    jobs: crossbeam_channel::Sender<Job>,
    stats: Arc<DbStats>,
}

/// Counters of the storage thread, for `/metrics` and the bench.
#[derive(Default)]
pub struct DbStats {
    /// Jobs refused as busy (queue full or waited too long).
    pub busy: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Jobs run.
    pub jobs: AtomicU64,
}

/// Opens (creating and migrating) a store on this thread, for command-line tools: PostgreSQL for
/// a `postgres://` or `postgresql://` URL, otherwise the SQLite file at that path.
///
/// # Errors
/// [`StoreError`] when the database cannot be opened or migrated.
pub fn open_store(path: &Path, durable_full: bool) -> StoreResult<Box<dyn Store>> {
    let text = path.to_string_lossy();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PostgresStore::open(&text)?));
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::UnsupportedDatabase("this consult was built without PostgreSQL support (cargo feature `postgres`)".into()));
    }
    let text = text.strip_prefix("sqlite:").map(str::to_string);
    Ok(Box::new(SqliteStore::open(text.as_deref().map_or(path, Path::new), durable_full)?))
}

impl Db {
    /// Opens (creating and migrating) the database and starts its thread: PostgreSQL for a
    /// `postgres://` or `postgresql://` URL, otherwise the SQLite file at that path.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be opened or migrated.
    pub fn open(path: &Path, durable_full: bool, connections: usize) -> StoreResult<Db> {
        let text = path.to_string_lossy();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Db::open_postgres(&text, connections);
            #[cfg(not(feature = "postgres"))]
            return Err(StoreError::UnsupportedDatabase("this consult was built without PostgreSQL support (cargo feature `postgres`)".into()));
        }
        let text = text.strip_prefix("sqlite:").map(str::to_string);
        Ok(Db::spawn(Box::new(SqliteStore::open_server(text.as_deref().map_or(path, Path::new), durable_full)?)))
    }

    /// PostgreSQL: `connections` storage workers on one queue, each with a connection of its
    /// own (the node's pool of connections), each committing its own batches of at most 10 ms
    /// of jobs. The database's locks and constraints keep the rules between workers as they do
    /// between nodes.
    ///
    /// # Errors
    /// The database cannot be reached or migrated.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(url: &str, connections: usize) -> StoreResult<Db> {
        let url = url.to_string();
        // Opened off the caller's thread: the store waits on its own runtime, which may not
        // be started from inside another.
        let first = std::thread::spawn(move || PostgresStore::open(&url)).join().map_err(|_| StoreError::Stopped)??;
        let mut stores: Vec<Box<dyn Store>> = Vec::new();
        for _ in 1..connections.max(1) {
            stores.push(Box::new(first.worker()?));
        }
        stores.push(Box::new(first));
        Ok(Db::spawn_workers(stores))
    }

    /// Runs several stores of one kind, one thread each, taking their batches from one queue.
    pub fn spawn_workers(stores: Vec<Box<dyn Store>>) -> Db {
        let budget = stores.first().and_then(|s| s.batch_budget());
        Db::spawn_budgeted(stores, budget)
    }

    /// Runs a store on its own thread.
    pub fn spawn(store: Box<dyn Store>) -> Db {
        Db::spawn_workers(vec![store])
    }

    fn spawn_budgeted(stores: Vec<Box<dyn Store>>, budget: Option<Duration>) -> Db {
        let (jobs, rx) = crossbeam_channel::bounded::<Job>(MAX_QUEUED);
        let stats = Arc::new(DbStats::default());
        let one = stores.len() == 1;
        for (i, mut store) in stores.into_iter().enumerate() {
            let (rx, stats) = (rx.clone(), stats.clone());
            std::thread::Builder::new()
                .name(if one { "consult-db".into() } else { format!("consult-db-{i}") })
                .spawn(move || serve_jobs(store.as_mut(), &rx, &stats, budget))
                .expect("spawning a database worker");
        }
        Db { jobs, stats }
    }

    /// The storage thread's counters.
    pub fn stats(&self) -> &DbStats {
        &self.stats
    }

    /// Runs a rule on the storage thread inside the batch's transaction: an `Err` from `f` undoes
    /// the rule's writes and drops what it published; `Ok` stands once the batch commits.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the queue is full or the job waited too long (nothing ran),
    /// [`StoreError::Stopped`] when the thread is gone, the commit's failure.
    pub async fn call_rule<T: Send + 'static, E: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, E> + Send + 'static,
    ) -> StoreResult<Result<T, E>> {
        let (tx, rx) = oneshot::channel();
        let run = Box::new(move |store: &mut dyn Store, expired: bool| {
            if expired {
                return Done { keep: false, answer: Box::new(move |_| drop(tx.send(Err(StoreError::Busy)))) };
            }
            let result = f(store);
            Done {
                keep: result.is_ok(),
                answer: Box::new(move |commit| {
                    let _ = tx.send(commit.map(|()| result));
                }),
            }
        });
        match self.jobs.try_send(Job { queued: Instant::now(), run }) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(_)) => {
                self.stats.busy.fetch_add(1, Relaxed);
                return Err(StoreError::Busy);
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => return Err(StoreError::Stopped),
        }
        rx.await.map_err(|_| StoreError::Stopped)?
    }

    /// Runs `f` on the storage thread (see [`Db::call_rule`]).
    ///
    /// # Errors
    /// What `f` returns, or what [`Db::call_rule`] does.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.call_rule(f).await?
    }
}

/// Makes every commit so far durable (see [`Store::durable_sync`]).
pub type DurableSync = Box<dyn FnMut() -> StoreResult<()> + Send>;

/// A committed batch waiting for its sync: what it published and whom to answer.
struct Committed {
    published: Vec<crate::hub::outbox::Publish>,
    answers: Vec<Box<dyn FnOnce(Result<(), StoreError>) + Send>>,
    /// The commit's own failure (such a batch needs no sync), and whether it was the database
    /// being unreachable.
    failed: Option<(String, bool)>,
}

impl Committed {
    /// Published only now: nobody ever sees a message that a failed commit or sync lost.
    fn finish(self, synced: Result<(), String>) {
        let outcome = match self.failed {
            Some(failed) => Err(failed),
            None => synced.map_err(|e| (e, false)),
        };
        if outcome.is_ok() {
            for publish in self.published {
                publish();
            }
        }
        for answer in self.answers {
            answer(outcome.clone().map_err(|(e, unreachable)| if unreachable { StoreError::Unreachable(e) } else { StoreError::Commit(e) }));
        }
    }
}

/// The sync thread: takes every committed batch waiting, syncs once for all of them, then
/// publishes and answers them in commit order.
struct Syncer {
    batches: std_mpsc::Sender<Committed>,
    /// Batches handed over and not yet answered.
    pending: Arc<AtomicU64>,
}

impl Syncer {
    fn spawn(mut sync: DurableSync) -> Syncer {
        let (batches, rx) = std_mpsc::channel::<Committed>();
        let pending = Arc::new(AtomicU64::new(0));
        let left = pending.clone();
        std::thread::Builder::new()
            .name("consult-sync".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    group.extend(rx.try_iter());
                    let synced = sync().map_err(|e| {
                        tracing::error!(error = %e, "syncing the database failed; the batches waiting for it are answered with the error");
                        e.to_string()
                    });
                    let n = group.len() as u64;
                    for batch in group {
                        batch.finish(synced.clone());
                    }
                    left.fetch_sub(n, Relaxed);
                }
            })
            .expect("spawning the database sync thread");
        Syncer { batches, pending }
    }

    fn busy(&self) -> bool {
        self.pending.load(Relaxed) > 0
    }

    fn hand_over(&self, batch: Committed) {
        self.pending.fetch_add(1, Relaxed);
        if let Err(std_mpsc::SendError(batch)) = self.batches.send(batch) {
            self.pending.fetch_sub(1, Relaxed);
            batch.finish(Err("the database sync thread stopped".into()));
        }
    }
}

/// How often the storage thread looks again whether the sync thread is free while it keeps
/// a batch open for more jobs.
const SYNC_POLL: Duration = Duration::from_micros(200);

fn serve_jobs(store: &mut dyn Store, rx: &crossbeam_channel::Receiver<Job>, stats: &DbStats, budget: Option<Duration>) {
    let syncer = store.durable_sync().map(Syncer::spawn);
    while let Ok(first) = rx.recv() {
        let opened = Instant::now();
        let mut batch = Batch::begin(store);
        batch.run(store, first, stats);
        // Take what waits; while the last batch's sync is still on the disk, keep taking (the
        // sync costs the same for one job or a thousand), so batches stay large under load.
        while batch.len < MAX_BATCH && budget.is_none_or(|b| opened.elapsed() < b) {
            match rx.try_recv() {
                Ok(job) => batch.run(store, job, stats),
                Err(crossbeam_channel::TryRecvError::Disconnected) => break,
                Err(crossbeam_channel::TryRecvError::Empty) if syncer.as_ref().is_some_and(Syncer::busy) => match rx.recv_timeout(SYNC_POLL) {
                    Ok(job) => batch.run(store, job, stats),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                },
                Err(crossbeam_channel::TryRecvError::Empty) => break,
            }
        }
        let committed = batch.commit(store, stats);
        match &syncer {
            Some(s) if committed.failed.is_none() => s.hand_over(committed),
            // A failed commit is answered at once; with no sync thread the commit was durable.
            _ => committed.finish(Ok(())),
        }
    }
}

/// One batch: a transaction, each job in its own savepoint.
struct Batch {
    in_transaction: bool,
    len: usize,
    committed: Committed,
}

impl Batch {
    fn begin(store: &mut dyn Store) -> Batch {
        let in_transaction = store.batch(BatchStep::Begin).is_ok();
        Batch { in_transaction, len: 0, committed: Committed { published: Vec::new(), answers: Vec::new(), failed: None } }
    }

    fn run(&mut self, store: &mut dyn Store, job: Job, stats: &DbStats) {
        self.len += 1;
        let expired = job.queued.elapsed() > MAX_WAIT;
        if expired {
            stats.busy.fetch_add(1, Relaxed);
            self.committed.answers.push(((job.run)(store, true)).answer);
            return;
        }
        let marked = self.in_transaction && store.batch(BatchStep::Mark).is_ok();
        crate::hub::outbox::open();
        let done = (job.run)(store, false);
        let events = crate::hub::outbox::take();
        if done.keep {
            self.committed.published.extend(events);
            if marked {
                let _ = store.batch(BatchStep::Keep);
            }
        } else if marked {
            let _ = store.batch(BatchStep::Undo);
        }
        self.committed.answers.push(done.answer);
    }

    fn commit(mut self, store: &mut dyn Store, stats: &DbStats) -> Committed {
        stats.jobs.fetch_add(self.len as u64, Relaxed);
        let commit = if self.in_transaction { store.batch(BatchStep::Commit) } else { Ok(()) };
        match commit {
            Ok(()) => {
                stats.commits.fetch_add(1, Relaxed);
            }
            Err(e) => {
                tracing::error!(error = %e, "committing a batch failed; its jobs are answered with the error");
                let _ = store.batch(BatchStep::Abort);
                self.committed.failed = Some((e.to_string(), e.is_unreachable()));
            }
        }
        self.committed
    }
}

/// The steps of a batch, for [`Store::batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStep {
    /// Start the batch's transaction.
    Begin,
    /// Mark the start of one job (a savepoint).
    Mark,
    /// Keep the job's writes.
    Keep,
    /// Undo the job's writes back to its mark.
    Undo,
    /// Commit the batch.
    Commit,
    /// Roll the whole batch back (after a failed commit).
    Abort,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_db() -> Db {
        Db::spawn(Box::new(SqliteStore::open(Path::new(":memory:"), false).unwrap()))
    }

    async fn conversation(db: &Db) -> String {
        let handle = db.call(|s| s.launch("shop", "u1", &LaunchContext::default(), 1)).await.unwrap();
        db.call(move |s| s.resolve_handle(&handle, 2)).await.unwrap().unwrap().id
    }

    fn text(t: &str) -> Body {
        Body::Text { text: t.into() }
    }

    /// Holds the storage thread for a while, so the jobs sent meanwhile queue up as one batch.
    fn hold(db: &Db, ms: u64) -> tokio::task::JoinHandle<StoreResult<()>> {
        let db = db.clone();
        tokio::spawn(async move {
            db.call(move |_| {
                std::thread::sleep(Duration::from_millis(ms));
                Ok(())
            })
            .await
        })
    }

    /// With a budget, a busy queue commits in slices: no job waits for more than the budget's
    /// worth of other jobs before its answer (PostgreSQL's case, where a job is round trips).
    #[tokio::test]
    async fn a_batch_budget_commits_a_busy_queue_in_slices() {
        let db = Db::spawn_budgeted(vec![Box::new(SqliteStore::open(Path::new(":memory:"), false).unwrap())], Some(Duration::from_millis(20)));
        let before = db.stats().commits.load(Relaxed);
        let held = hold(&db, 30);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let slow: Vec<_> = (0..10).map(|_| hold(&db, 8)).collect();
        held.await.unwrap().unwrap();
        for job in slow {
            job.await.unwrap().unwrap();
        }
        // At most three 8 ms jobs fit in 20 ms (the budget is checked before each job is taken).
        let commits = db.stats().commits.load(Relaxed) - before;
        assert!(commits >= 5, "{commits} commits: the budget did not cut the batch");
    }

    /// The server's SQLite path: commits synced by the sync thread, batches kept open while a
    /// sync is on the disk. Every job is answered once, publishes come in commit order, and
    /// everything acknowledged is in the file when it is opened again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synced_batches_answer_every_job_in_order_and_keep_every_write() {
        let dir = std::env::temp_dir().join(format!("consult-sync-{}", crate::identity::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("consult.db");
        let db = Db::spawn(Box::new(SqliteStore::open_server(&file, true).unwrap()));
        let published = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut sends = Vec::new();
        for i in 0..400u32 {
            let (db, published) = (db.clone(), published.clone());
            sends.push(tokio::spawn(async move {
                db.call(move |s| {
                    let handle = s.launch("shop", &format!("u{i}"), &LaunchContext::default(), 1)?;
                    let seen = published.clone();
                    if let Some(p) = crate::hub::outbox::defer(Box::new(move || seen.lock().unwrap().push(i))) {
                        p();
                    }
                    Ok(handle)
                })
                .await
            }));
        }
        let mut handles = Vec::new();
        for send in sends {
            handles.push(send.await.unwrap().unwrap());
        }
        let (jobs, commits) = (db.stats().jobs.load(Relaxed), db.stats().commits.load(Relaxed));
        assert_eq!(jobs, 400);
        assert!(commits < jobs, "{commits} commits for {jobs} jobs: nothing was batched");
        let mut order = published.lock().unwrap().clone();
        assert_eq!(order.len(), 400, "every job's publish ran once");
        order.sort_unstable();
        order.dedup();
        assert_eq!(order.len(), 400);
        drop(db);
        std::thread::sleep(Duration::from_millis(300));
        let mut again = SqliteStore::open(&file, true).unwrap();
        for handle in handles {
            assert!(again.resolve_handle(&handle, 2).unwrap().is_some(), "an acknowledged write is missing");
        }
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn one_batch_one_commit_and_client_ids_hold_inside_it() {
        let db = memory_db();
        let conv = conversation(&db).await;
        let before = db.stats().commits.load(Relaxed);
        let held = hold(&db, 300);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sends = ["a", "b", "a", "c", "b"].map(|id| {
            let (db, conv) = (db.clone(), conv.clone());
            tokio::spawn(async move { db.call(move |s| s.visitor_write(&conv, id, &text(id), &OpenAs::Queued(None), 3)).await })
        });
        held.await.unwrap().unwrap();
        let mut seqs = Vec::new();
        for send in sends {
            seqs.push(send.await.unwrap().unwrap().message.seq);
        }
        // Retries of a and b inside the same batch got the first write's seq; three stored.
        assert_eq!(seqs[0], seqs[2]);
        assert_eq!(seqs[1], seqs[4]);
        let c = conv.clone();
        let stored = db.call(move |s| s.messages_after(&c, 0, 100)).await.unwrap();
        assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        // The hold, the five sends and the read: three commits at most, not seven.
        assert!(db.stats().commits.load(Relaxed) - before <= 3, "{}", db.stats().commits.load(Relaxed) - before);
    }

    #[tokio::test]
    async fn a_job_that_waited_too_long_is_refused_as_busy_and_stores_nothing() {
        let db = memory_db();
        let conv = conversation(&db).await;
        let held = hold(&db, MAX_WAIT.as_millis() as u64 + 300);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let c = conv.clone();
        let late = db.call(move |s| s.visitor_write(&c, "late", &text("late"), &OpenAs::Queued(None), 3)).await;
        held.await.unwrap().unwrap();
        assert!(matches!(late, Err(StoreError::Busy)), "{late:?}");
        let c = conv.clone();
        assert!(db.call(move |s| s.messages_after(&c, 0, 100)).await.unwrap().is_empty());
        assert!(db.stats().busy.load(Relaxed) >= 1);
        // And the thread goes on serving.
        let c = conv.clone();
        let w = db.call(move |s| s.visitor_write(&c, "next", &text("next"), &OpenAs::Queued(None), 4)).await.unwrap();
        assert_eq!(w.message.seq, 1);
    }

    #[tokio::test]
    async fn a_failing_rule_undoes_only_its_own_writes_and_publishes_nothing() {
        let db = memory_db();
        let conv = conversation(&db).await;
        let held = hold(&db, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let published = Arc::new(AtomicU64::new(0));
        let (c, p) = (conv.clone(), published.clone());
        let failing = db.call_rule(move |s| {
            s.visitor_write(&c, "x", &text("undone"), &OpenAs::Queued(None), 3).map_err(|e| e.to_string())?;
            let p = p.clone();
            let _ = crate::hub::outbox::defer(Box::new(move || {
                p.fetch_add(1, Relaxed);
            }));
            Err::<(), String>("refused after writing".into())
        });
        let c = conv.clone();
        let kept = db.call(move |s| s.visitor_write(&c, "y", &text("kept"), &OpenAs::Queued(None), 3));
        let (failing, kept) = tokio::join!(failing, kept);
        held.await.unwrap().unwrap();
        assert_eq!(failing.unwrap(), Err("refused after writing".to_string()));
        assert_eq!(kept.unwrap().message.seq, 1, "the undone write's seq is not taken: no gap");
        assert_eq!(published.load(Relaxed), 0);
        let c = conv.clone();
        let stored = db.call(move |s| s.messages_after(&c, 0, 100)).await.unwrap();
        assert_eq!(stored.len(), 1);
    }

    #[test]
    fn previews_are_one_short_line() {
        let text = |t: &str| preview_of(&Body::Text { text: t.into() });
        assert_eq!(text("  hello\n\n there "), "hello there");
        let long = text(&"가".repeat(500));
        assert_eq!(long.chars().count(), PREVIEW_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(text(&"a".repeat(PREVIEW_CHARS)), "a".repeat(PREVIEW_CHARS));
        let image = Body::Image { attachment: "x".into(), mime: "image/png".into(), size: 1 };
        assert_eq!(preview_of(&image), "[photo]");
        let file = Body::File { attachment: "x".into(), name: "a.pdf".into(), mime: "application/pdf".into(), size: 1 };
        assert_eq!(preview_of(&file), "[file]");
    }
}
