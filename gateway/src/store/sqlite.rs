//! The SQLite store: WAL, migrations at start, every rule that must hold also held by the schema
//! (one open session per conversation; agent messages only into an assigned session).

use std::path::Path;

use consult_sdk::protocol::{Body, ChatMessage, CloseReason, Sender, SessionState};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{
    AgentWriteError, Attachment, ConversationRef, LaunchContext, OpenAs, Purged, SessionRow, Store, StoreResult, VisitorWrite,
};
use super::preview_of;
use crate::identity::random_id;

/// Migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE channel_secrets(channel TEXT NOT NULL, purpose TEXT NOT NULL, secret BLOB NOT NULL, PRIMARY KEY(channel, purpose));
CREATE TABLE conversations(id TEXT PRIMARY KEY, channel TEXT NOT NULL, user_key TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0, context TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE UNIQUE INDEX conversations_user ON conversations(channel, user_key);
CREATE TABLE handles(handle TEXT PRIMARY KEY, conversation TEXT NOT NULL, created_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sessions(id TEXT PRIMARY KEY, conversation TEXT NOT NULL, channel TEXT NOT NULL, user_key TEXT NOT NULL,
    state TEXT NOT NULL, context TEXT NOT NULL, category TEXT, agent TEXT, opened_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL, last_visitor_ms INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
    close_reason TEXT, closed_ms INTEGER);
CREATE INDEX sessions_conversation ON sessions(conversation);
CREATE INDEX sessions_user ON sessions(channel, user_key);
CREATE INDEX sessions_state ON sessions(state, agent);
CREATE UNIQUE INDEX sessions_one_open ON sessions(conversation) WHERE state != 'closed';
CREATE TABLE messages(conversation TEXT NOT NULL, seq INTEGER NOT NULL, session TEXT, author TEXT, client_id TEXT,
    sender TEXT NOT NULL, body TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY(conversation, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_client ON messages(conversation, author, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_session ON messages(session, seq);
CREATE TRIGGER agent_messages_need_assigned_session BEFORE INSERT ON messages
WHEN NEW.author LIKE 'agent:%' AND NOT EXISTS (
    SELECT 1 FROM sessions WHERE id = NEW.session AND state = 'assigned' AND 'agent:' || agent = NEW.author)
BEGIN SELECT RAISE(ABORT, 'agent message outside an open session assigned to that agent'); END;
CREATE TABLE blocks(channel TEXT NOT NULL, user_key TEXT NOT NULL, until_ms INTEGER NOT NULL, reason TEXT NOT NULL,
    agent TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX blocks_user ON blocks(channel, user_key);
CREATE TABLE handoffs(serial INTEGER PRIMARY KEY, handle TEXT NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER);
CREATE TABLE attachments(id TEXT PRIMARY KEY, conversation TEXT, agent TEXT, mime TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, data BLOB NOT NULL, created_ms INTEGER NOT NULL);
"#, r#"
CREATE TABLE agent_tokens(token_sha256 BLOB PRIMARY KEY, agent TEXT NOT NULL, created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX agent_tokens_expiry ON agent_tokens(expires_ms);
"#, r#"
ALTER TABLE sessions ADD COLUMN current_page TEXT;
"#, r#"
CREATE TABLE session_tags(session TEXT NOT NULL, pos INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(session, pos)) WITHOUT ROWID;
CREATE INDEX session_tags_tag ON session_tags(tag);
"#, super::sqlite_ops::MIGRATION, super::sqlite_counsel::MIGRATION, super::sqlite_counsel::RECEIPTS_AND_SWITCHES_MIGRATION, r#"
-- Attachment bytes live in the blob store; `data` keeps the bytes of older rows (empty when
-- blob_key is set), which are still served from here.
ALTER TABLE attachments ADD COLUMN blob_key TEXT;
ALTER TABLE attachments ADD COLUMN sha256 TEXT;
"#, super::sqlite_counsel::RUNTIME_MIGRATION, super::sqlite_counsel::ACCOUNTS_MIGRATION,
    super::sqlite_counsel::RUNTIME_CONFIG_MIGRATION, r#"
-- The orphan-blob sweep asks which blob keys rows name.
CREATE INDEX attachments_blob ON attachments(blob_key) WHERE blob_key IS NOT NULL;
"#, r#"
-- A session's messages are read through their conversation's key (conversation, seq): one
-- B-tree fewer for every message to write, and one fewer page per message in each commit's log.
DROP INDEX messages_session;
"#];

/// SQLite behind [`Store`].
pub struct SqliteStore {
    conn: Connection,
    /// The write-ahead log to sync after commits, when the server syncs them itself.
    wal: Option<std::path::PathBuf>,
    /// Stops the checkpoint thread when the store goes.
    checkpoints: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(stop) = &self.checkpoints {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Pages of memory SQLite may keep (negative: KiB). The default 2 MiB made every batch read
/// back pages it had just written.
const CACHE_KIB: i64 = 16 * 1024;
/// How often the checkpoint thread copies the log into the database: seldom enough that a page
/// rewritten by many batches is copied once, and its two syncs stay out of the writer's way.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// A log holding this much is reset even if that makes the writer wait for it.
const WAL_RESET_BYTES: u64 = 64 * 1024 * 1024;

pub(super) fn state_str(s: SessionState) -> &'static str {
    match s {
        SessionState::Waiting => "waiting",
        SessionState::Bot => "bot",
        SessionState::Queued => "queued",
        SessionState::Assigned => "assigned",
        SessionState::Closed => "closed",
    }
}

pub(super) fn parse_state(s: &str) -> SessionState {
    match s {
        "waiting" => SessionState::Waiting,
        "bot" => SessionState::Bot,
        "queued" => SessionState::Queued,
        "assigned" => SessionState::Assigned,
        _ => SessionState::Closed,
    }
}

pub(super) fn reason_str(r: CloseReason) -> &'static str {
    match r {
        CloseReason::VisitorLeft => "visitor_left",
        CloseReason::Inactivity => "inactivity",
        CloseReason::AgentClosed => "agent_closed",
        CloseReason::HandedOff => "handed_off",
        CloseReason::Blocked => "blocked",
    }
}

pub(super) fn parse_reason(s: &str) -> Option<CloseReason> {
    serde_json::from_value(serde_json::Value::String(s.into())).ok()
}

pub(super) const SESSION_COLUMNS: &str = "s.id, s.conversation, s.channel, s.user_key, s.state, s.context, s.category, s.agent, \
    s.opened_ms, s.last_ms, s.last_visitor_ms, s.last_seq, s.close_reason, \
    (SELECT COUNT(*) FROM sessions e WHERE e.channel = s.channel AND e.user_key = s.user_key AND e.rowid < s.rowid), \
    (SELECT m.body FROM messages m WHERE m.conversation = s.conversation AND m.session = s.id AND m.author = 'visitor' ORDER BY m.seq DESC LIMIT 1), \
    s.current_page";

pub(super) fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let context: String = r.get(5)?;
    let reason: Option<String> = r.get(12)?;
    Ok(SessionRow {
        id: r.get(0)?,
        conversation: r.get(1)?,
        channel: r.get(2)?,
        user_key: r.get(3)?,
        state: parse_state(&r.get::<_, String>(4)?),
        // A corrupt context shows as empty rather than hiding the whole session from agents.
        context: serde_json::from_str(&context).unwrap_or_default(),
        category: r.get(6)?,
        agent: r.get(7)?,
        opened_ms: r.get::<_, i64>(8)? as u64,
        last_ms: r.get::<_, i64>(9)? as u64,
        last_visitor_ms: r.get::<_, i64>(10)? as u64,
        last_seq: r.get::<_, i64>(11)? as u64,
        close_reason: reason.as_deref().and_then(parse_reason),
        earlier_sessions: r.get::<_, i64>(13)? as u32,
        preview: r.get::<_, Option<String>>(14)?.and_then(|b| serde_json::from_str::<Body>(&b).ok()).map(|b| preview_of(&b)),
        current_page: r.get(15)?,
    })
}

fn message_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, Option<String>, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_message(row: (i64, String, String, Option<String>, i64)) -> StoreResult<ChatMessage> {
    let (seq, sender, body, client_id, at_ms) = row;
    Ok(ChatMessage {
        seq: seq as u64,
        sender: serde_json::from_str(&sender)?,
        body: serde_json::from_str(&body)?,
        client_id,
        at_ms: at_ms as u64,
    })
}

impl SqliteStore {
    /// Opens the file (creating it), sets WAL and applies pending migrations.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(path: &Path, durable_full: bool) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", if durable_full { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        let mut store = SqliteStore { conn, wal: None, checkpoints: None };
        store.migrate()?;
        Ok(store)
    }

    /// Opens the file for the server's storage thread. Commits are made durable by the thread's
    /// group sync ([`Store::durable_sync`]: one `fdatasync` of the log for every batch
    /// committed meanwhile) instead of inside `COMMIT`, and the log is copied into the database
    /// by a thread of its own; with `durable_full` false, as [`SqliteStore::open`].
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_server(path: &Path, durable_full: bool) -> StoreResult<SqliteStore> {
        let mut store = SqliteStore::open(path, durable_full)?;
        let file = store.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
        let Some(file) = file else { return Ok(store) };
        // NORMAL in WAL mode: COMMIT writes the log without syncing it; the sync thread syncs.
        if durable_full {
            store.conn.pragma_update(None, "synchronous", "NORMAL")?;
            store.wal = Some(wal_of(&file));
        }
        store.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        store.checkpoints = Some(spawn_checkpoints(&file)?);
        Ok(store)
    }

    fn migrate(&mut self) -> StoreResult<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(migration = i + 1, "database migrated");
        }
        Ok(())
    }
}

/// SQLite's write-ahead log beside the database file.
fn wal_of(file: &Path) -> std::path::PathBuf {
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// Copies the log into the database every [`CHECKPOINT_EVERY`] on a connection of its own,
/// off the storage thread; resets a log past [`WAL_RESET_BYTES`] (the writer waits for that).
fn spawn_checkpoints(file: &Path) -> StoreResult<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let conn = Connection::open(file)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let page_bytes: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    std::thread::Builder::new()
        .name("consult-checkpoint".into())
        .spawn(move || {
            // What the log holds now, from the last checkpoint's answer. Not the file's length:
            // SQLite reuses the file from its start without shrinking it, so once the file had
            // grown past the limit every checkpoint made the writer wait.
            let mut log_bytes = 0u64;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(CHECKPOINT_EVERY);
                let reset = log_bytes > WAL_RESET_BYTES;
                let mode = if reset { "RESTART" } else { "PASSIVE" };
                // (blocked, frames in the log, frames copied)
                match conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))) {
                    // A finished reset: the writer starts the log again at its next commit.
                    Ok((0, _)) if reset => log_bytes = 0,
                    Ok((_, frames)) => log_bytes = u64::try_from(frames.saturating_mul(page_bytes)).unwrap_or(0),
                    Err(e) => tracing::warn!(error = %e, "checkpointing the database log failed; trying again"),
                }
            }
        })
        ?;
    Ok(stop)
}

pub(super) fn session_by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<SessionRow>> {
    conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?1"))?.query_row([id], session_row)
        .optional()
}

fn open_session_of(conn: &Connection, conversation: &str) -> rusqlite::Result<Option<SessionRow>> {
    conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conversation = ?1 AND s.state != 'closed'"))?.query_row([conversation],
        session_row,
    )
    .optional()
}

/// Appends a message under the next seq of the conversation; the caller holds the transaction.
#[allow(clippy::too_many_arguments)] // one row's columns, each a plain value
pub(super) fn append(
    conn: &Connection,
    conversation: &str,
    session: Option<&str>,
    author: Option<&str>,
    client_id: Option<&str>,
    sender: &Sender,
    body: &Body,
    now_ms: u64,
) -> StoreResult<ChatMessage> {
    let seq: i64 =
        conn.prepare_cached("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")?.query_row([conversation], |r| {
            r.get(0)
        })?;
    conn.prepare_cached("INSERT INTO messages(conversation, seq, session, author, client_id, sender, body, at_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")?.execute(params![
            conversation,
            seq,
            session,
            author,
            client_id,
            serde_json::to_string(sender)?,
            serde_json::to_string(body)?,
            now_ms as i64
        ],
    )?;
    if let Some(session) = session {
        conn.prepare_cached("UPDATE sessions SET last_seq = ?2, last_ms = ?3 WHERE id = ?1")?.execute(params![session, seq, now_ms as i64])?;
    }
    Ok(ChatMessage { seq: seq as u64, sender: sender.clone(), body: body.clone(), client_id: client_id.map(Into::into), at_ms: now_ms })
}

pub(super) fn existing_message(conn: &Connection, conversation: &str, author: &str, client_id: &str) -> StoreResult<Option<(ChatMessage, Option<String>)>> {
    let row = conn
        .prepare_cached("SELECT seq, sender, body, client_id, at_ms, session FROM messages WHERE conversation = ?1 AND author = ?2 AND client_id = ?3")?.query_row(params![conversation, author, client_id],
            |r| Ok((message_row(r)?, r.get::<_, Option<String>>(5)?)),
        )
        .optional()?;
    row.map(|(m, s)| Ok((to_message(m)?, s))).transpose()
}

impl Store for SqliteStore {
    fn durable_sync(&mut self) -> Option<super::DurableSync> {
        let wal = self.wal.clone()?;
        let mut file: Option<std::fs::File> = None;
        Some(Box::new(move || {
            // Opened on first use: SQLite creates the log with the first write.
            let f = match &mut file {
                Some(f) => f,
                // No log yet: nothing was written that is not in the database file.
                None => match std::fs::File::open(&wal) {
                    Ok(f) => file.insert(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e.into()),
                },
            };
            Ok(f.sync_data()?)
        }))
    }

    fn batch(&mut self, step: super::BatchStep) -> StoreResult<()> {
        use super::BatchStep;
        let sql = match step {
            // IMMEDIATE: the write lock is taken at once, so no job fails half-way on it.
            BatchStep::Begin => "BEGIN IMMEDIATE",
            BatchStep::Mark => "SAVEPOINT job",
            BatchStep::Keep => "RELEASE job",
            BatchStep::Undo => "ROLLBACK TO job; RELEASE job",
            BatchStep::Commit => "COMMIT",
            BatchStep::Abort => "ROLLBACK",
        };
        self.conn.execute_batch(sql)?;
        Ok(())
    }

    fn channel_secret(&mut self, channel: &str, purpose: &str) -> StoreResult<[u8; 32]> {
        let tx = self.conn.savepoint()?;
        let existing: Option<Vec<u8>> = tx
            .prepare_cached("SELECT secret FROM channel_secrets WHERE channel = ?1 AND purpose = ?2")?.query_row([channel, purpose], |r| r.get(0))
            .optional()?;
        if let Some(bytes) = existing
            && let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(secret);
        }
        let secret = crate::identity::random_bytes::<32>();
        tx.prepare_cached("INSERT OR REPLACE INTO channel_secrets(channel, purpose, secret) VALUES (?1, ?2, ?3)")?.execute(params![channel, purpose, secret.to_vec()],
        )?;
        tx.commit()?;
        Ok(secret)
    }

    fn launch(&mut self, channel: &str, user_key: &str, context: &LaunchContext, now_ms: u64) -> StoreResult<String> {
        let tx = self.conn.savepoint()?;
        let context_json = serde_json::to_string(context)?;
        let conversation: String = tx.prepare_cached("INSERT INTO conversations(id, channel, user_key, context, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(channel, user_key) DO UPDATE SET context = excluded.context RETURNING id")?.query_row(params![random_id("c"), channel, user_key, context_json, now_ms as i64],
            |r| r.get(0),
        )?;
        let handle = crate::identity::random_token(24);
        tx.prepare_cached("INSERT INTO handles(handle, conversation, created_ms) VALUES (?1, ?2, ?3)")?.execute(params![handle, conversation, now_ms as i64])?;
        tx.commit()?;
        Ok(handle)
    }

    fn resolve_handle(&mut self, handle: &str, now_ms: u64) -> StoreResult<Option<ConversationRef>> {
        let oldest = now_ms.saturating_sub(super::HANDLE_TTL_MS) as i64;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT c.id, c.channel, c.user_key FROM handles h JOIN conversations c ON c.id = h.conversation
                 WHERE h.handle = ?1 AND h.revoked = 0 AND h.created_ms > ?2",
            )?
            .query_row(
                params![handle, oldest],
                |r| Ok(ConversationRef { id: r.get(0)?, channel: r.get(1)?, user_key: r.get(2)? }),
            )
            .optional()?)
    }

    fn conversation_state(&mut self, conversation: &str) -> StoreResult<(Option<SessionRow>, u64)> {
        let last_seq: i64 =
            self.conn.prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")?.query_row([conversation], |r| r.get(0)).optional()?.unwrap_or(0);
        let session = self
            .conn
            .prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conversation = ?1 ORDER BY s.rowid DESC LIMIT 1"))?.query_row([conversation],
                session_row,
            )
            .optional()?;
        Ok((session, last_seq as u64))
    }

    fn messages_after(&mut self, conversation: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, sender, body, client_id, at_ms FROM messages WHERE conversation = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![conversation, after_seq as i64, limit], message_row)?;
        rows.map(|r| to_message(r?)).collect()
    }

    fn session_messages(&mut self, session: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, sender, body, client_id, at_ms FROM messages
             WHERE conversation = (SELECT conversation FROM sessions WHERE id = ?1) AND session = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![session, after_seq as i64, limit], message_row)?;
        rows.map(|r| to_message(r?)).collect()
    }

    fn visitor_write(
        &mut self,
        conversation: &str,
        client_id: &str,
        body: &Body,
        open_as: &OpenAs,
        now_ms: u64,
    ) -> StoreResult<VisitorWrite> {
        let tx = self.conn.savepoint()?;
        if let Some((message, session)) = existing_message(&tx, conversation, "visitor", client_id)? {
            let session = match session {
                Some(id) => session_by_id(&tx, &id)?,
                None => None,
            };
            if let Some(session) = session {
                return Ok(VisitorWrite { message, duplicate: true, session, opened: false });
            }
        }
        let (session, opened) = match open_session_of(&tx, conversation)? {
            Some(s) => (s, false),
            None => {
                let (channel, user_key, context): (String, String, String) = tx.prepare_cached("SELECT channel, user_key, context FROM conversations WHERE id = ?1")?.query_row([conversation],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                let (state, category) = match open_as {
                    OpenAs::Bot => (SessionState::Bot, None),
                    OpenAs::Queued(c) => (SessionState::Queued, c.clone()),
                };
                let id = random_id("s");
                tx.prepare_cached("INSERT INTO sessions(id, conversation, channel, user_key, state, context, category, opened_ms, last_ms, last_visitor_ms)
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8,?8)")?.execute(params![id, conversation, channel, user_key, state_str(state), context, category, now_ms as i64],
                )?;
                (session_by_id(&tx, &id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?, true)
            }
        };
        let message = append(&tx, conversation, Some(&session.id), Some("visitor"), Some(client_id), &Sender::Visitor, body, now_ms)?;
        tx.prepare_cached("UPDATE sessions SET last_visitor_ms = ?2 WHERE id = ?1")?.execute(params![session.id, now_ms as i64])?;
        tx.commit()?;
        // What the writes changed, without reading the row back.
        let session = SessionRow { last_seq: message.seq, last_ms: now_ms, last_visitor_ms: now_ms, preview: Some(preview_of(body)), ..session };
        Ok(VisitorWrite { message, duplicate: false, session, opened })
    }

    fn system_write(&mut self, conversation: &str, sender: &Sender, body: &Body, now_ms: u64) -> StoreResult<ChatMessage> {
        let tx = self.conn.savepoint()?;
        let session = open_session_of(&tx, conversation)?;
        let message = append(&tx, conversation, session.as_ref().map(|s| s.id.as_str()), None, None, sender, body, now_ms)?;
        tx.commit()?;
        Ok(message)
    }

    fn agent_write(
        &mut self,
        session: &str,
        agent_id: &str,
        agent_name: &str,
        client_id: &str,
        body: &Body,
        now_ms: u64,
    ) -> StoreResult<Result<(String, ChatMessage), AgentWriteError>> {
        let tx = self.conn.savepoint()?;
        let Some(row) = session_by_id(&tx, session)? else { return Ok(Err(AgentWriteError::UnknownSession)) };
        let author = format!("agent:{agent_id}");
        // A retry of a send that was stored answers with the stored message, even if closed since.
        if let Some((message, _)) = existing_message(&tx, &row.conversation, &author, client_id)? {
            return Ok(Ok((row.conversation, message)));
        }
        if let Err(refused) = crate::rules::access::agent_may_write(&row, agent_id) {
            return Ok(Err(refused));
        }
        let sender = Sender::Agent { id: agent_id.into(), name: agent_name.into() };
        let message = append(&tx, &row.conversation, Some(session), Some(&author), Some(client_id), &sender, body, now_ms)?;
        tx.commit()?;
        Ok(Ok((row.conversation, message)))
    }

    fn session(&mut self, id: &str) -> StoreResult<Option<SessionRow>> {
        Ok(session_by_id(&self.conn, id)?)
    }

    fn queue_session(&mut self, session: &str, category: Option<&str>, now_ms: u64) -> StoreResult<Option<SessionRow>> {
        let n = self.conn.prepare_cached("UPDATE sessions SET state = 'queued', category = ?2, last_ms = MAX(last_ms, ?3) WHERE id = ?1 AND state IN ('bot', 'waiting')")?.execute(params![session, category, now_ms as i64],
        )?;
        if n == 0 {
            return Ok(None);
        }
        Ok(session_by_id(&self.conn, session)?)
    }

    fn set_current_page(&mut self, session: &str, page: Option<&str>) -> StoreResult<Option<SessionRow>> {
        let n = self.conn.prepare_cached("UPDATE sessions SET current_page = ?2 WHERE id = ?1 AND state != 'closed'")?.execute(params![session, page],
        )?;
        if n == 0 {
            return Ok(None);
        }
        Ok(session_by_id(&self.conn, session)?)
    }

    fn assign(&mut self, session: &str, agent: &str, from: Option<&str>) -> StoreResult<Option<SessionRow>> {
        let n = match from {
            Some(from) => self.conn.prepare_cached("UPDATE sessions SET agent = ?2 WHERE id = ?1 AND state = 'assigned' AND agent = ?3")?.execute(params![session, agent, from],
            )?,
            None => self
                .conn
                .prepare_cached("UPDATE sessions SET agent = ?2, state = 'assigned' WHERE id = ?1 AND state = 'queued'")?.execute(params![session, agent])?,
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(session_by_id(&self.conn, session)?)
    }

    fn close_session(
        &mut self,
        session: &str,
        reason: CloseReason,
        notice: &str,
        now_ms: u64,
    ) -> StoreResult<Option<(SessionRow, ChatMessage)>> {
        let tx = self.conn.savepoint()?;
        let Some(row) = session_by_id(&tx, session)? else { return Ok(None) };
        if !row.is_open() {
            return Ok(None);
        }
        // The notice goes in first, inside the session, so the stored order shows the close.
        let message = append(&tx, &row.conversation, Some(session), None, None, &Sender::System, &Body::Text { text: notice.into() }, now_ms)?;
        tx.prepare_cached("UPDATE sessions SET state = 'closed', close_reason = ?2, closed_ms = ?3 WHERE id = ?1")?.execute(params![session, reason_str(reason), now_ms as i64],
        )?;
        let row = session_by_id(&tx, session)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        tx.commit()?;
        Ok(Some((row, message)))
    }

    fn queued(&mut self) -> StoreResult<Vec<SessionRow>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state = 'queued' ORDER BY s.rowid"))?;
        Ok(stmt.query_map([], session_row)?.collect::<Result<_, _>>()?)
    }

    fn agent_sessions(&mut self, agent: &str) -> StoreResult<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state = 'assigned' AND s.agent = ?1 ORDER BY s.rowid"
        ))?;
        Ok(stmt.query_map([agent], session_row)?.collect::<Result<_, _>>()?)
    }

    fn agent_loads(&mut self) -> StoreResult<Vec<(String, u32)>> {
        let mut stmt = self.conn.prepare_cached("SELECT agent, COUNT(*) FROM sessions WHERE state = 'assigned' GROUP BY agent")?;
        Ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u32)))?.collect::<Result<_, _>>()?)
    }

    fn agent_load_locked(&mut self, agent: &str) -> StoreResult<u32> {
        // One writer: the batch's transaction already serialises every assignment.
        let n: i64 = self.conn.prepare_cached("SELECT COUNT(*) FROM sessions WHERE state = 'assigned' AND agent = ?1")?.query_row([agent], |r| r.get(0))?;
        Ok(n as u32)
    }

    fn history(&mut self, channel: &str, user_key: &str, limit: u32) -> StoreResult<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.channel = ?1 AND s.user_key = ?2 ORDER BY s.rowid DESC LIMIT ?3"
        ))?;
        Ok(stmt.query_map(params![channel, user_key, limit], session_row)?.collect::<Result<_, _>>()?)
    }

    fn stale_sessions(&mut self, channel: &str, before_ms: u64) -> StoreResult<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state != 'closed' AND s.channel = ?1 AND s.last_ms < ?2"
        ))?;
        Ok(stmt.query_map(params![channel, before_ms as i64], session_row)?.collect::<Result<_, _>>()?)
    }

    fn block(&mut self, channel: &str, user_key: &str, until_ms: u64, reason: &str, agent: &str) -> StoreResult<()> {
        self.conn.prepare_cached("INSERT INTO blocks(channel, user_key, until_ms, reason, agent, created_ms) VALUES (?1,?2,?3,?4,?5,?6)")?.execute(params![channel, user_key, until_ms as i64, reason, agent, crate::now_ms() as i64],
        )?;
        Ok(())
    }

    fn is_blocked(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM blocks WHERE channel = ?1 AND user_key = ?2 AND until_ms > ?3 LIMIT 1")?.query_row(params![channel, user_key, now_ms as i64],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn agent_token_put(&mut self, token_sha256: &[u8; 32], agent: &str, now_ms: u64, expires_ms: u64) -> StoreResult<()> {
        // Expired tokens go as new ones come: the table stays the size of the signed-in desks.
        self.conn.prepare_cached("DELETE FROM agent_tokens WHERE expires_ms <= ?1")?.execute([now_ms as i64])?;
        self.conn.prepare_cached("INSERT INTO agent_tokens(token_sha256, agent, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)")?.execute(params![&token_sha256[..], agent, now_ms as i64, expires_ms as i64],
        )?;
        Ok(())
    }

    fn agent_token_get(&mut self, token_sha256: &[u8; 32], now_ms: u64) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT agent FROM agent_tokens WHERE token_sha256 = ?1 AND expires_ms > ?2")?.query_row(params![&token_sha256[..], now_ms as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn agent_token_delete(&mut self, token_sha256: &[u8; 32]) -> StoreResult<()> {
        self.conn.prepare_cached("DELETE FROM agent_tokens WHERE token_sha256 = ?1")?.execute([&token_sha256[..]])?;
        Ok(())
    }

    fn handoff_minted(&mut self, serial: u64, handle: &str, expires_ms: u64) -> StoreResult<()> {
        self.conn.prepare_cached("INSERT INTO handoffs(serial, handle, expires_ms) VALUES (?1, ?2, ?3)")?.execute(params![serial as i64, handle, expires_ms as i64],
        )?;
        Ok(())
    }

    fn handoff_use(&mut self, serial: u64, now_ms: u64) -> StoreResult<Option<(String, String, ConversationRef)>> {
        let tx = self.conn.savepoint()?;
        let old: Option<String> = tx
            .prepare_cached("UPDATE handoffs SET used_ms = ?2 WHERE serial = ?1 AND used_ms IS NULL AND expires_ms > ?2 RETURNING handle")?.query_row(params![serial as i64, now_ms as i64],
                |r| r.get(0),
            )
            .optional()?;
        let Some(old) = old else { return Ok(None) };
        let conv = tx
            .prepare_cached("UPDATE handles SET revoked = 1 WHERE handle = ?1 AND revoked = 0 RETURNING conversation")?.query_row([&old],
                |r| r.get::<_, String>(0),
            )
            .optional()?;
        let Some(conv) = conv else { return Ok(None) };
        let conversation = tx.prepare_cached("SELECT id, channel, user_key FROM conversations WHERE id = ?1")?.query_row([&conv], |r| {
            Ok(ConversationRef { id: r.get(0)?, channel: r.get(1)?, user_key: r.get(2)? })
        })?;
        let handle = crate::identity::random_token(24);
        tx.prepare_cached("INSERT INTO handles(handle, conversation, created_ms) VALUES (?1, ?2, ?3)")?.execute(params![handle, conv, now_ms as i64])?;
        tx.commit()?;
        Ok(Some((old, handle, conversation)))
    }

    fn put_attachment(&mut self, a: &Attachment, now_ms: u64) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO attachments(id, conversation, agent, mime, name, size, data, blob_key, sha256, created_ms)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?
            .execute(params![a.id, a.conversation, a.agent, a.mime, a.name, a.size as i64, a.data_column(), a.bytes.blob_key(), a.sha256, now_ms as i64])?;
        Ok(())
    }

    fn attachment(&mut self, id: &str) -> StoreResult<Option<Attachment>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, conversation, agent, mime, name, size, blob_key, sha256, CASE WHEN blob_key IS NULL THEN data END
                 FROM attachments WHERE id = ?1",
            )?
            .query_row([id], |r| {
                let (bytes, sha256) = Attachment::bytes_from_columns(r.get(6)?, r.get(7)?, r.get(8)?);
                Ok(Attachment {
                    id: r.get(0)?,
                    conversation: r.get(1)?,
                    agent: r.get(2)?,
                    mime: r.get(3)?,
                    name: r.get(4)?,
                    size: r.get::<_, i64>(5)? as u64,
                    sha256,
                    bytes,
                })
            })
            .optional()?)
    }

    fn blob_keys_in_use(&mut self, keys: &[String]) -> StoreResult<Vec<String>> {
        let keys = serde_json::to_string(keys)?;
        let mut q = self.conn.prepare_cached("SELECT blob_key FROM attachments WHERE blob_key IN (SELECT value FROM json_each(?1))")?;
        let found = q.query_map([keys], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(found)
    }

    fn purge(&mut self, channel: &str, before_ms: u64, now_ms: u64) -> StoreResult<Purged> {
        let tx = self.conn.savepoint()?;
        let empty = serde_json::to_string(&LaunchContext::default())?;
        tx.prepare_cached("UPDATE sessions SET context = ?3, current_page = NULL
             WHERE channel = ?1 AND state = 'closed' AND closed_ms < ?2 AND context != ?3")?.execute(params![channel, before_ms as i64, empty],
        )?;
        tx.prepare_cached("UPDATE conversations SET context = ?3 WHERE channel = ?1 AND context != ?3
             AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.conversation = conversations.id AND (s.state != 'closed' OR s.closed_ms >= ?2))
             AND NOT EXISTS (SELECT 1 FROM handles h WHERE h.conversation = conversations.id AND h.created_ms >= ?2)")?.execute(params![channel, before_ms as i64, empty],
        )?;
        let expired = now_ms.saturating_sub(super::HANDLE_TTL_MS) as i64;
        tx.prepare_cached("DELETE FROM handles WHERE created_ms <= ?2 AND conversation IN (SELECT id FROM conversations WHERE channel = ?1)")?.execute(params![channel, expired],
        )?;
        tx.prepare_cached("DELETE FROM blocks WHERE channel = ?1 AND until_ms <= ?2")?.execute(params![channel, now_ms as i64])?;
        tx.prepare_cached("DELETE FROM handoffs WHERE expires_ms <= ?1")?.execute([now_ms as i64])?;
        let n = tx.prepare_cached("DELETE FROM messages WHERE at_ms < ?2 AND conversation IN (SELECT id FROM conversations WHERE channel = ?1)
             AND (session IS NULL OR session IN (SELECT id FROM sessions WHERE state = 'closed'))")?.execute(params![channel, before_ms as i64],
        )?;
        let blobs = tx
            .prepare_cached(
                "DELETE FROM attachments WHERE created_ms < ?2 AND (conversation IS NULL OR conversation IN (SELECT id FROM conversations WHERE channel = ?1))
                 RETURNING blob_key",
            )?
            .query_map(params![channel, before_ms as i64], |r| r.get::<_, Option<String>>(0))?
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?;
        tx.commit()?;
        Ok(Purged { messages: n as u64, blobs })
    }

    fn search(&mut self, channels: &[String], query: &str, limit: u32) -> StoreResult<Vec<SessionRow>> {
        let channels = serde_json::to_string(channels)?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s
             WHERE s.channel IN (SELECT value FROM json_each(?1)) AND (
                instr(lower(s.user_key), lower(?2)) > 0
                OR instr(lower(coalesce(json_extract(s.context, '$.member.id'), '')), lower(?2)) > 0
                OR instr(lower(coalesce(json_extract(s.context, '$.member.name'), '')), lower(?2)) > 0
                OR EXISTS (SELECT 1 FROM session_tags t WHERE t.session = s.id AND instr(t.tag, lower(?2)) > 0)
                OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation = s.conversation AND m.session = s.id
                           AND instr(lower(coalesce(json_extract(m.body, '$.text'), json_extract(m.body, '$.name'), '')), lower(?2)) > 0))
             ORDER BY s.rowid DESC LIMIT ?3"
        ))?;
        Ok(stmt.query_map(params![channels, query, limit], session_row)?.collect::<Result<_, _>>()?)
    }

    fn set_tags(&mut self, session: &str, tags: &[String]) -> StoreResult<()> {
        let tx = self.conn.savepoint()?;
        tx.prepare_cached("DELETE FROM session_tags WHERE session = ?1")?.execute([session])?;
        for (i, t) in tags.iter().enumerate() {
            tx.prepare_cached("INSERT INTO session_tags(session, pos, tag) VALUES (?1, ?2, ?3)")?.execute(params![session, i as i64, t])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn tags(&mut self, session: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT tag FROM session_tags WHERE session = ?1 ORDER BY pos")?;
        Ok(stmt.query_map([session], |r| r.get(0))?.collect::<Result<_, _>>()?)
    }

    fn blocks(&mut self, channels: &[String], now_ms: u64) -> StoreResult<Vec<consult_sdk::protocol::BlockInfo>> {
        let channels = serde_json::to_string(channels)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT channel, user_key, until_ms, reason, agent, created_ms FROM blocks
             WHERE channel IN (SELECT value FROM json_each(?1)) AND until_ms > ?2 ORDER BY rowid DESC LIMIT 500",
        )?;
        let rows = stmt.query_map(params![channels, now_ms as i64], |r| {
            Ok(consult_sdk::protocol::BlockInfo {
                channel: r.get(0)?,
                user_key: r.get(1)?,
                until_ms: r.get::<_, i64>(2)? as u64,
                reason: r.get(3)?,
                agent: r.get(4)?,
                created_ms: r.get::<_, i64>(5)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn unblock(&mut self, channel: &str, user_key: &str) -> StoreResult<u64> {
        Ok(self.conn.prepare_cached("DELETE FROM blocks WHERE channel = ?1 AND user_key = ?2")?.execute(params![channel, user_key])? as u64)
    }

    fn bot_sessions(&mut self) -> StoreResult<Vec<SessionRow>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state = 'bot' ORDER BY s.rowid"))?;
        Ok(stmt.query_map([], session_row)?.collect::<Result<_, _>>()?)
    }

    fn mark_session(&mut self, session: &str, mark: &super::SessionMark, now_ms: u64) -> StoreResult<()> {
        super::sqlite_ops::mark_session(&self.conn, session, mark, now_ms)
    }

    fn rate_session(&mut self, session: &str, score: u8, comment: Option<&str>, now_ms: u64) -> StoreResult<bool> {
        super::sqlite_ops::rate_session(&self.conn, session, score, comment, now_ms)
    }

    fn rating(&mut self, session: &str) -> StoreResult<Option<consult_sdk::protocol::RatingInfo>> {
        super::sqlite_ops::rating(&self.conn, session)
    }

    fn add_note(&mut self, session: &str, agent: &str, agent_name: &str, text: &str, now_ms: u64) -> StoreResult<()> {
        super::sqlite_ops::add_note(&self.conn, session, agent, agent_name, text, now_ms)
    }

    fn notes(&mut self, session: &str) -> StoreResult<Vec<consult_sdk::protocol::NoteInfo>> {
        super::sqlite_ops::notes(&self.conn, session)
    }

    fn open_sessions(&mut self) -> StoreResult<Vec<SessionRow>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.state != 'closed' ORDER BY s.opened_ms"))?;
        Ok(stmt.query_map([], session_row)?.collect::<Result<_, _>>()?)
    }

    fn report_rows(&mut self, channels: &[String], from_ms: u64, to_ms: u64) -> StoreResult<Vec<super::ReportRow>> {
        super::sqlite_ops::report_rows(&self.conn, channels, from_ms, to_ms)
    }

    fn recent_waits(&mut self, channel: &str, since_ms: u64, limit: u32) -> StoreResult<Vec<u64>> {
        super::sqlite_ops::recent_waits(&self.conn, channel, since_ms, limit)
    }

    fn audit_append(&mut self, entry: &super::AuditEntry) -> StoreResult<()> {
        super::sqlite_ops::audit_append(&self.conn, entry)
    }

    fn audit_list(&mut self, filter: &super::AuditFilter) -> StoreResult<Vec<super::AuditEntry>> {
        super::sqlite_ops::audit_list(&self.conn, filter)
    }

    fn user_export(&mut self, channel: &str, user_key: &str) -> StoreResult<serde_json::Value> {
        super::sqlite_ops::user_export(&self.conn, channel, user_key)
    }

    fn user_erase(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<super::EraseCounts> {
        super::sqlite_ops::user_erase(&mut self.conn, channel, user_key, now_ms)
    }

    fn api_key_put(&mut self, key: &super::ApiKeyRow) -> StoreResult<()> {
        super::sqlite_counsel::api_key_put(&self.conn, key)
    }

    fn api_key_get(&mut self, id: &str) -> StoreResult<Option<super::ApiKeyRow>> {
        super::sqlite_counsel::api_key_get(&self.conn, id)
    }

    fn api_keys(&mut self, channel: &str) -> StoreResult<Vec<super::ApiKeyRow>> {
        super::sqlite_counsel::api_keys(&self.conn, channel)
    }

    fn api_key_revoke(&mut self, channel: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        super::sqlite_counsel::api_key_revoke(&self.conn, channel, id, now_ms)
    }

    fn api_key_used(&mut self, id: &str, now_ms: u64) -> StoreResult<()> {
        super::sqlite_counsel::api_key_used(&self.conn, id, now_ms)
    }

    fn counsel_sessions(&mut self, channel: &str, state: Option<SessionState>, after: Option<(u64, &str)>, limit: u32) -> StoreResult<Vec<SessionRow>> {
        super::sqlite_counsel::counsel_sessions(&self.conn, channel, state, after, limit)
    }

    fn raise_receipt(&mut self, conversation: &str, mark: super::ReceiptMark, seq: u64) -> StoreResult<Option<consult_sdk::protocol::Receipts>> {
        super::sqlite_counsel::raise_receipt(&self.conn, conversation, mark, seq)
    }

    fn receipts(&mut self, conversation: &str) -> StoreResult<consult_sdk::protocol::Receipts> {
        super::sqlite_counsel::receipts(&self.conn, conversation)
    }

    fn return_to_bot(&mut self, session: &str) -> StoreResult<Option<SessionRow>> {
        let n = self.conn.prepare_cached("UPDATE sessions SET state = 'bot', agent = NULL WHERE id = ?1 AND state IN ('assigned', 'queued')")?.execute([session])?;
        if n == 0 { Ok(None) } else { Ok(session_by_id(&self.conn, session)?) }
    }

    fn canned_answers(&mut self) -> StoreResult<Option<Vec<consult_sdk::protocol::CannedAnswer>>> {
        super::sqlite_counsel::canned_answers(&self.conn)
    }

    fn agent_account(&mut self, agent: &str) -> StoreResult<super::AgentAccount> {
        super::sqlite_counsel::agent_account(&self.conn, agent)
    }

    fn agent_accounts(&mut self) -> StoreResult<Vec<(String, super::AgentAccount)>> {
        super::sqlite_counsel::agent_accounts(&self.conn)
    }

    fn set_agent_account(&mut self, agent: &str, disabled: Option<bool>, password_hash: Option<&str>) -> StoreResult<()> {
        super::sqlite_counsel::set_agent_account(&self.conn, agent, disabled, password_hash)
    }

    fn agent_tokens_revoke(&mut self, agent: &str) -> StoreResult<Vec<[u8; 32]>> {
        super::sqlite_counsel::agent_tokens_revoke(&self.conn, agent)
    }

    fn set_canned_answers(&mut self, answers: &[consult_sdk::protocol::CannedAnswer]) -> StoreResult<()> {
        super::sqlite_counsel::set_canned_answers(&mut self.conn, answers)
    }

    fn set_channel_enabled(&mut self, channel: &str, enabled: bool, by: &str, now_ms: u64) -> StoreResult<()> {
        super::sqlite_counsel::set_channel_enabled(&self.conn, channel, enabled, by, now_ms)
    }

    fn channel_switches(&mut self) -> StoreResult<Vec<(String, bool)>> {
        super::sqlite_counsel::channel_switches(&self.conn)
    }

    fn runtime_list(&mut self, prefix: &str) -> StoreResult<Vec<super::RuntimeEntry>> {
        super::sqlite_counsel::runtime_list(&self.conn, prefix)
    }

    fn runtime_put(&mut self, name: &str, expected: u64, value: &str, by: &str, now_ms: u64) -> StoreResult<Option<u64>> {
        super::sqlite_counsel::runtime_put(&self.conn, name, expected, value, by, now_ms)
    }

    fn bot_write(&mut self, session: &str, client_id: &str, body: &Body, now_ms: u64) -> StoreResult<Result<(SessionRow, ChatMessage, bool), AgentWriteError>> {
        super::sqlite_counsel::bot_write(&mut self.conn, session, client_id, body, now_ms)
    }

    fn webhook_endpoint_put(&mut self, endpoint: &super::EndpointRow, now_ms: u64) -> StoreResult<()> {
        super::sqlite_counsel::webhook_endpoint_put(&self.conn, endpoint, now_ms)
    }

    fn webhook_endpoints(&mut self, channel: Option<&str>) -> StoreResult<Vec<super::EndpointRow>> {
        super::sqlite_counsel::webhook_endpoints(&self.conn, channel)
    }

    fn webhook_endpoint_delete(&mut self, channel: &str, id: &str) -> StoreResult<bool> {
        super::sqlite_counsel::webhook_endpoint_delete(&mut self.conn, channel, id)
    }

    fn webhook_emit(&mut self, channel: &str, session: Option<&str>, event_type: &str, payload: &str, id_base: &str, now_ms: u64) -> StoreResult<u64> {
        super::sqlite_counsel::webhook_emit(&self.conn, channel, session, event_type, payload, id_base, now_ms)
    }

    fn webhook_due(&mut self, now_ms: u64, limit: u32) -> StoreResult<Vec<super::DueDelivery>> {
        super::sqlite_counsel::webhook_due(&self.conn, now_ms, limit)
    }

    fn webhook_outcome(&mut self, n: i64, outcome: &super::DeliveryOutcome, now_ms: u64) -> StoreResult<()> {
        super::sqlite_counsel::webhook_outcome(&self.conn, n, outcome, now_ms)
    }

    fn webhook_pause(&mut self, endpoint: &str, reason: &str, now_ms: u64) -> StoreResult<()> {
        super::sqlite_counsel::webhook_pause(&self.conn, endpoint, reason, now_ms)
    }

    fn webhook_deliveries(&mut self, channel: &str, endpoint: &str, status: Option<&str>, limit: u32) -> StoreResult<Vec<consult_sdk::counsel::DeliveryInfo>> {
        super::sqlite_counsel::webhook_deliveries(&self.conn, channel, endpoint, status, limit)
    }

    fn webhook_replay(&mut self, channel: &str, endpoint: &str, now_ms: u64) -> StoreResult<Option<u64>> {
        super::sqlite_counsel::webhook_replay(&mut self.conn, channel, endpoint, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SqliteStore {
        SqliteStore::open(Path::new(":memory:"), false).unwrap()
    }

    crate::store::conformance::conformance_suite!(Some(Box::new(store())));

    fn text(t: &str) -> Body {
        Body::Text { text: t.into() }
    }

    /// A row written before blobs left the database (bytes in `data`, no key, no digest) still
    /// reads back, with its digest computed, and the export carries its bytes.
    #[test]
    fn rows_from_before_blobs_still_read() {
        let mut s = store();
        let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
        let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
        s.conn
            .execute(
                "INSERT INTO attachments(id, conversation, agent, mime, name, size, data, created_ms) VALUES ('a_old', ?1, NULL, 'text/plain', 'n.txt', 5, X'68656c6c6f', 1)",
                [&conv],
            )
            .unwrap();
        let a = s.attachment("a_old").unwrap().unwrap();
        assert_eq!(a.bytes, super::super::AttachmentBytes::Inline(b"hello".to_vec()));
        assert_eq!(a.sha256, crate::blob::sha256_hex(b"hello"));
        let export = s.user_export("shop", "u1").unwrap();
        assert_eq!(export["attachments"][0]["data_base64"], "aGVsbG8=");
        assert!(export["attachments"][0].get("blob_key").is_none());
        let erased = s.user_erase("shop", "u1", 2).unwrap();
        assert_eq!((erased.attachments, erased.blobs.len()), (1, 0));
    }

    #[test]
    fn schema_refuses_agent_message_outside_assigned_session() {
        let mut s = store();
        let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
        let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
        let w = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Queued(None), 2).unwrap();
        assert!(w.opened);
        assert_eq!(s.agent_write(&w.session.id, "a1", "A", "x", &text("yo"), 3).unwrap(), Err(AgentWriteError::NotAssigned));
        s.assign(&w.session.id, "a1", None).unwrap().unwrap();
        assert!(s.agent_write(&w.session.id, "a1", "A", "x", &text("yo"), 3).unwrap().is_ok());
        s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 4).unwrap().unwrap();
        assert_eq!(s.agent_write(&w.session.id, "a1", "A", "y", &text("late"), 5).unwrap(), Err(AgentWriteError::NotOpen));
        // Even a raw insert bypassing the check is refused by the trigger.
        let raw = s.conn.execute(
            "INSERT INTO messages(conversation, seq, session, author, sender, body, at_ms) VALUES (?1, 99, ?2, 'agent:a1', '{}', '{}', 0)",
            params![conv.id, w.session.id],
        );
        assert!(raw.is_err());
    }

    #[test]
    fn retention_forgets_context_membership_handles_blocks_and_handoffs() {
        let mut s = store();
        let member = consult_sdk::Membership { id: "m-1".into(), name: Some("Kim".into()), ..Default::default() };
        let context = LaunchContext {
            entry: consult_sdk::protocol::EntryView { verified: Some(consult_sdk::EntryPoint { button: Some("b".into()), ..Default::default() }), declared: None, via: "button".into() },
            member: Some(member),
        };
        let h = s.launch("shop", "u1", &context, 1).unwrap();
        let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
        let w = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Queued(None), 2).unwrap();
        s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 3).unwrap().unwrap();
        s.block("shop", "u1", 10, "x", "a1").unwrap();
        s.handoff_minted(7, &h, 10).unwrap();
        let now = 100 + crate::store::HANDLE_TTL_MS;
        s.purge("shop", 100, now).unwrap();
        let contexts: Vec<String> = s.conn.prepare("SELECT context FROM sessions UNION ALL SELECT context FROM conversations").unwrap()
            .query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(contexts.len(), 2);
        for c in contexts {
            assert!(!c.contains("m-1") && !c.contains("Kim") && !c.contains("\"b\""), "{c}");
        }
        for table in ["handles", "blocks", "handoffs", "messages"] {
            let n: i64 = s.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

}
