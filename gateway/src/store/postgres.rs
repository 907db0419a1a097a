//! The PostgreSQL store, for several gateway nodes on one database. The same rules as SQLite,
//! held across nodes by the database: every rule that reads before it writes first locks its
//! conversation row (`SELECT … FOR UPDATE`), so two nodes acting on one conversation take turns;
//! an agent's load is counted under an advisory lock on the agent; uniqueness (one open session
//! per conversation, one message per client id, one conversation per user key) is a constraint.
//!
//! Statements run inside the storage thread's batch transaction and the job's savepoint (see
//! [`super::Db`]), so a method needs no transaction of its own.

use consult_sdk::protocol::{Body, ChatMessage, CloseReason, Sender, SessionState};
use std::time::Duration;

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::sqlite::{parse_reason, parse_state, reason_str, state_str};
use super::{
    AgentWriteError, Attachment, BatchStep, ConversationRef, LaunchContext, OpenAs, Purged, SessionRow, Store, StoreError, StoreResult,
    VisitorWrite, preview_of,
};
use crate::identity::random_id;

/// Migrations, applied in order under an advisory lock, so nodes starting together apply each once.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE channel_secrets(channel TEXT NOT NULL, purpose TEXT NOT NULL, secret BYTEA NOT NULL, PRIMARY KEY(channel, purpose));
CREATE TABLE conversations(id TEXT PRIMARY KEY, channel TEXT NOT NULL, user_key TEXT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0, context TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE UNIQUE INDEX conversations_user ON conversations(channel, user_key);
CREATE TABLE handles(handle TEXT PRIMARY KEY, conversation TEXT NOT NULL, created_ms BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0);
CREATE TABLE sessions(ord BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, conversation TEXT NOT NULL, channel TEXT NOT NULL,
    user_key TEXT NOT NULL, state TEXT NOT NULL, context TEXT NOT NULL, category TEXT, agent TEXT, opened_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL, last_visitor_ms BIGINT NOT NULL, last_seq BIGINT NOT NULL DEFAULT 0,
    close_reason TEXT, closed_ms BIGINT, current_page TEXT);
CREATE INDEX sessions_conversation ON sessions(conversation);
CREATE INDEX sessions_user ON sessions(channel, user_key);
CREATE INDEX sessions_state ON sessions(state, agent);
CREATE UNIQUE INDEX sessions_one_open ON sessions(conversation) WHERE state != 'closed';
CREATE TABLE messages(conversation TEXT NOT NULL, seq BIGINT NOT NULL, session TEXT, author TEXT, client_id TEXT,
    sender TEXT NOT NULL, body TEXT NOT NULL, at_ms BIGINT NOT NULL, PRIMARY KEY(conversation, seq));
CREATE UNIQUE INDEX messages_client ON messages(conversation, author, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_session ON messages(session, seq);
CREATE FUNCTION agent_messages_need_assigned_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.author LIKE 'agent:%' AND NOT EXISTS (
      SELECT 1 FROM sessions WHERE id = NEW.session AND state = 'assigned' AND 'agent:' || agent = NEW.author) THEN
    RAISE EXCEPTION 'agent message outside an open session assigned to that agent';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER agent_messages_need_assigned_session BEFORE INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION agent_messages_need_assigned_session();
CREATE TABLE blocks(ord BIGSERIAL, channel TEXT NOT NULL, user_key TEXT NOT NULL, until_ms BIGINT NOT NULL, reason TEXT NOT NULL,
    agent TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE INDEX blocks_user ON blocks(channel, user_key);
CREATE TABLE handoffs(serial BIGINT PRIMARY KEY, handle TEXT NOT NULL, expires_ms BIGINT NOT NULL, used_ms BIGINT);
CREATE TABLE attachments(id TEXT PRIMARY KEY, conversation TEXT, agent TEXT, mime TEXT NOT NULL, name TEXT NOT NULL,
    size BIGINT NOT NULL, data BYTEA NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE agent_tokens(token_sha256 BYTEA PRIMARY KEY, agent TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL);
CREATE INDEX agent_tokens_expiry ON agent_tokens(expires_ms);
CREATE TABLE session_tags(session TEXT NOT NULL, pos BIGINT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(session, pos));
CREATE INDEX session_tags_tag ON session_tags(tag);
"#, r#"
ALTER TABLE sessions ADD COLUMN entry_point TEXT, ADD COLUMN queued_ms BIGINT, ADD COLUMN assigned_ms BIGINT,
    ADD COLUMN first_reply_ms BIGINT, ADD COLUMN transfers BIGINT NOT NULL DEFAULT 0, ADD COLUMN rating BIGINT,
    ADD COLUMN rating_comment TEXT, ADD COLUMN rated_ms BIGINT;
CREATE INDEX sessions_opened ON sessions(channel, opened_ms);
CREATE TABLE session_notes(session TEXT NOT NULL, pos BIGINT NOT NULL, agent TEXT NOT NULL, agent_name TEXT NOT NULL,
    text TEXT NOT NULL, at_ms BIGINT NOT NULL, PRIMARY KEY(session, pos));
CREATE TABLE audit_log(id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    channel TEXT, target TEXT, detail TEXT NOT NULL);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"#, r#"
CREATE TABLE api_keys(id TEXT PRIMARY KEY, channel TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
    agent TEXT, hash BYTEA NOT NULL, created_ms BIGINT NOT NULL, last_used_ms BIGINT, revoked_ms BIGINT);
CREATE INDEX api_keys_channel ON api_keys(channel);
CREATE TABLE webhook_endpoints(id TEXT PRIMARY KEY, channel TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
    events TEXT NOT NULL, source TEXT NOT NULL, paused_ms BIGINT, paused_reason TEXT, created_ms BIGINT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0);
CREATE TABLE webhook_deliveries(n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, endpoint TEXT NOT NULL,
    channel TEXT NOT NULL, session TEXT NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, next_ms BIGINT NOT NULL, last_status BIGINT,
    last_error TEXT, created_ms BIGINT NOT NULL, done_ms BIGINT);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_ms);
CREATE INDEX webhook_deliveries_line ON webhook_deliveries(endpoint, session, status, n);
"#, r#"
CREATE TABLE channel_switches(channel TEXT PRIMARY KEY, enabled BOOLEAN NOT NULL, by_actor TEXT NOT NULL, at_ms BIGINT NOT NULL);
ALTER TABLE conversations ADD COLUMN visitor_delivered_seq BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN visitor_read_seq BIGINT NOT NULL DEFAULT 0, ADD COLUMN agent_read_seq BIGINT NOT NULL DEFAULT 0;
"#, r#"
-- Attachment bytes live in the blob store; `data` keeps the bytes of older rows (empty when
-- blob_key is set), which are still served from here.
ALTER TABLE attachments ADD COLUMN blob_key TEXT, ADD COLUMN sha256 TEXT;
"#, r#"
-- Cluster bus notes too big for NOTIFY (see cluster.rs), kept a minute.
CREATE TABLE bus_spill(id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created_ms BIGINT NOT NULL);
"#, r#"
-- Settings an admin changes at runtime (canned answers; which of them the database now owns).
CREATE TABLE canned_answers(pos BIGINT PRIMARY KEY, shortcut TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
CREATE TABLE runtime_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
"#, r#"
-- Agents an admin disabled or gave a new password.
CREATE TABLE agent_accounts(agent TEXT PRIMARY KEY, disabled BOOLEAN NOT NULL DEFAULT FALSE, password_hash TEXT);
"#, r#"
-- Runtime changes with their versions (agents, hours, menus, guidance; versions of the rest).
CREATE TABLE runtime_config(name TEXT PRIMARY KEY, version BIGINT NOT NULL, value TEXT NOT NULL,
    by_actor TEXT NOT NULL, at_ms BIGINT NOT NULL);
"#, r#"
-- A visitor's message in one round trip instead of eight (see `visitor_write`): the same
-- statements as the client ran one by one, under the same conversation row lock.
CREATE FUNCTION consult_visitor_write(p_conversation TEXT, p_client_id TEXT, p_sender TEXT, p_body TEXT,
    p_state TEXT, p_category TEXT, p_new_session TEXT, p_now BIGINT)
RETURNS TABLE(session_id TEXT, seq BIGINT, at_ms BIGINT, body TEXT, duplicate BOOLEAN, opened BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
  v_session TEXT;
  v_seq BIGINT;
  v_at BIGINT;
  v_body TEXT;
  v_opened BOOLEAN := FALSE;
BEGIN
  PERFORM 1 FROM conversations WHERE id = p_conversation FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no conversation %', p_conversation;
  END IF;
  -- A retry of a stored send answers with what was stored.
  SELECT m.session, m.seq, m.at_ms, m.body INTO v_session, v_seq, v_at, v_body FROM messages m
    WHERE m.conversation = p_conversation AND m.author = 'visitor' AND m.client_id = p_client_id;
  IF FOUND AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = v_session) THEN
    RETURN QUERY SELECT v_session, v_seq, v_at, v_body, TRUE, FALSE;
    RETURN;
  END IF;
  SELECT s.id INTO v_session FROM sessions s WHERE s.conversation = p_conversation AND s.state != 'closed';
  IF NOT FOUND THEN
    INSERT INTO sessions(id, conversation, channel, user_key, state, context, category, opened_ms, last_ms, last_visitor_ms)
      SELECT p_new_session, c.id, c.channel, c.user_key, p_state, c.context, p_category, p_now, p_now, p_now
      FROM conversations c WHERE c.id = p_conversation;
    v_session := p_new_session;
    v_opened := TRUE;
  END IF;
  UPDATE conversations SET last_seq = last_seq + 1 WHERE id = p_conversation RETURNING last_seq INTO v_seq;
  INSERT INTO messages(conversation, seq, session, author, client_id, sender, body, at_ms)
    VALUES (p_conversation, v_seq, v_session, 'visitor', p_client_id, p_sender, p_body, p_now);
  UPDATE sessions SET last_seq = v_seq, last_ms = p_now, last_visitor_ms = p_now WHERE id = v_session;
  RETURN QUERY SELECT v_session, v_seq, p_now, p_body, FALSE, v_opened;
END $$;
-- An agent's message in one round trip (see `agent_write`). `outcome`: ok, unknown_session,
-- not_assigned, not_open: the checks of rules::access::agent_may_write, in SQL.
CREATE FUNCTION consult_agent_write(p_session TEXT, p_agent TEXT, p_client_id TEXT, p_sender TEXT, p_body TEXT, p_now BIGINT)
RETURNS TABLE(outcome TEXT, conversation TEXT, seq BIGINT, at_ms BIGINT, sender TEXT, body TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_conversation TEXT;
  v_state TEXT;
  v_agent TEXT;
  v_seq BIGINT;
  v_at BIGINT;
  v_sender TEXT;
  v_body TEXT;
BEGIN
  SELECT s.conversation INTO v_conversation FROM sessions s WHERE s.id = p_session;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown_session'::TEXT, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
    RETURN;
  END IF;
  PERFORM 1 FROM conversations c WHERE c.id = v_conversation FOR UPDATE;
  -- A retry of a send that was stored answers with the stored message, even if closed since.
  SELECT m.seq, m.at_ms, m.sender, m.body INTO v_seq, v_at, v_sender, v_body FROM messages m
    WHERE m.conversation = v_conversation AND m.author = 'agent:' || p_agent AND m.client_id = p_client_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'ok'::TEXT, v_conversation, v_seq, v_at, v_sender, v_body;
    RETURN;
  END IF;
  SELECT s.state, s.agent INTO v_state, v_agent FROM sessions s WHERE s.id = p_session;
  IF v_state = 'closed' THEN
    RETURN QUERY SELECT 'not_open'::TEXT, v_conversation, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
    RETURN;
  END IF;
  IF v_state <> 'assigned' OR v_agent IS DISTINCT FROM p_agent THEN
    RETURN QUERY SELECT 'not_assigned'::TEXT, v_conversation, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
    RETURN;
  END IF;
  UPDATE conversations c SET last_seq = c.last_seq + 1 WHERE c.id = v_conversation RETURNING c.last_seq INTO v_seq;
  INSERT INTO messages(conversation, seq, session, author, client_id, sender, body, at_ms)
    VALUES (v_conversation, v_seq, p_session, 'agent:' || p_agent, p_client_id, p_sender, p_body, p_now);
  UPDATE sessions s SET last_seq = v_seq, last_ms = p_now WHERE s.id = p_session;
  RETURN QUERY SELECT 'ok'::TEXT, v_conversation, v_seq, p_now, p_sender, p_body;
END $$;
"#, r#"
-- The orphan-blob sweep asks which blob keys rows name.
CREATE INDEX attachments_blob ON attachments(blob_key) WHERE blob_key IS NOT NULL;
"#];

/// The advisory lock key that serialises edits of the canned answers across nodes.
const CANNED_LOCK: i64 = 0x636f_6e73_756c_7403;

/// The advisory lock key that serialises migrations across nodes.
const MIGRATION_LOCK: i64 = 0x636f_6e73_756c_7401;

const SESSION_COLUMNS: &str = "s.id, s.conversation, s.channel, s.user_key, s.state, s.context, s.category, s.agent, \
    s.opened_ms, s.last_ms, s.last_visitor_ms, s.last_seq, s.close_reason, \
    (SELECT COUNT(*) FROM sessions e WHERE e.channel = s.channel AND e.user_key = s.user_key AND e.ord < s.ord), \
    (SELECT m.body FROM messages m WHERE m.session = s.id AND m.author = 'visitor' ORDER BY m.seq DESC LIMIT 1), \
    s.current_page";

/// How long a worker waits for a new connection before its job fails as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a statement is run for.
#[derive(Clone, Copy)]
enum Op {
    Query,
    Execute,
}

/// What a statement answered.
enum Ran {
    Rows(Vec<Row>),
    Count(u64),
}

/// PostgreSQL behind [`Store`]: one storage worker's own connection (a node's workers are its
/// pool of connections, [`super::Db::open_postgres`]). The connection is driven on the worker's
/// thread, inside its waits (a small runtime of its own), so a round trip costs no hand-over to
/// another thread; a connection that broke is replaced before the next batch.
pub struct PostgresStore {
    config: tokio_postgres::Config,
    io: tokio::runtime::Runtime,
    client: Option<Client>,
    /// Statements prepared on this connection, by their text.
    statements: HashMap<String, Statement>,
    /// Transaction steps not sent yet: they go out with the next statement, in the same round
    /// trip (tokio-postgres pipelines requests made together).
    pending: String,
    /// The server holds a transaction of ours: a lost connection must fail the batch, not be
    /// replaced under it.
    in_transaction: bool,
}

fn session_row(r: &Row) -> SessionRow {
    let context: String = r.get(5);
    let reason: Option<String> = r.get(12);
    SessionRow {
        id: r.get(0),
        conversation: r.get(1),
        channel: r.get(2),
        user_key: r.get(3),
        state: parse_state(r.get(4)),
        context: serde_json::from_str(&context).unwrap_or_default(),
        category: r.get(6),
        agent: r.get(7),
        opened_ms: r.get::<_, i64>(8) as u64,
        last_ms: r.get::<_, i64>(9) as u64,
        last_visitor_ms: r.get::<_, i64>(10) as u64,
        last_seq: r.get::<_, i64>(11) as u64,
        close_reason: reason.as_deref().and_then(parse_reason),
        earlier_sessions: r.get::<_, i64>(13) as u32,
        preview: r.get::<_, Option<String>>(14).and_then(|b| serde_json::from_str::<Body>(&b).ok()).map(|b| preview_of(&b)),
        current_page: r.get(15),
    }
}

fn message(r: &Row) -> StoreResult<ChatMessage> {
    Ok(ChatMessage {
        seq: r.get::<_, i64>(0) as u64,
        sender: serde_json::from_str(r.get(1))?,
        body: serde_json::from_str(r.get(2))?,
        client_id: r.get(3),
        at_ms: r.get::<_, i64>(4) as u64,
    })
}

fn ms(v: u64) -> i64 {
    v as i64
}

const KEY_COLUMNS: &str = "id, channel, name, scopes, agent, hash, created_ms, last_used_ms, revoked_ms";

fn key_row(r: &Row) -> super::ApiKeyRow {
    let scopes: String = r.get(3);
    let hash: Vec<u8> = r.get(5);
    super::ApiKeyRow {
        id: r.get(0),
        channel: r.get(1),
        name: r.get(2),
        scopes: scopes.split(',').filter_map(consult_sdk::counsel::Scope::parse).collect(),
        agent: r.get(4),
        hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0; 32]),
        created_ms: r.get::<_, i64>(6) as u64,
        last_used_ms: r.get::<_, Option<i64>>(7).map(|v| v as u64),
        revoked_ms: r.get::<_, Option<i64>>(8).map(|v| v as u64),
    }
}

impl PostgresStore {
    /// Connects and applies pending migrations (under an advisory lock: safe when several nodes
    /// start at once). [`PostgresStore::worker`] makes a store for each further storage worker.
    ///
    /// Not on an async runtime's thread: the store waits for the database with `block_on`.
    ///
    /// # Errors
    /// A URL that does not parse, a database that does not answer, a failed migration.
    pub fn open(url: &str) -> StoreResult<PostgresStore> {
        let mut store = PostgresStore::unconnected(url.parse()?)?;
        store.migrate()?;
        Ok(store)
    }

    fn unconnected(config: tokio_postgres::Config) -> StoreResult<PostgresStore> {
        let io = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(PostgresStore { config, io, client: None, statements: HashMap::new(), pending: String::new(), in_transaction: false })
    }

    /// Another storage worker on the same database, with a connection of its own (made at its
    /// first statement).
    ///
    /// # Errors
    /// Its runtime could not be made.
    pub fn worker(&self) -> StoreResult<PostgresStore> {
        PostgresStore::unconnected(self.config.clone())
    }

    fn migrate(&mut self) -> StoreResult<()> {
        self.client()?;
        let client = self.client.as_mut().expect("connected");
        self.io.block_on(async {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY)").await?;
            let applied: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0);
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
                tx.batch_execute(sql).await?;
                tx.execute("INSERT INTO schema_migrations(version) VALUES ($1)", &[&((i + 1) as i64)]).await?;
                tracing::info!(migration = i + 1, "postgres database migrated");
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// This worker's connection, made (again) when it has none or the last one broke outside a
    /// transaction.
    fn client(&mut self) -> StoreResult<&Client> {
        if !self.in_transaction && self.client.is_some() {
            // The connection is only driven while this worker waits on its runtime: let it read
            // what came while the worker was idle, so a connection the server closed meanwhile
            // (a restart, a failover) is seen as closed and replaced before the batch, not after.
            self.io.block_on(tokio::task::yield_now());
        }
        if self.client.as_ref().is_none_or(Client::is_closed) {
            if self.in_transaction {
                // The transaction died with the connection: the batch fails as unreachable.
                return Err(StoreError::Unreachable("the database connection was lost during the batch".into()));
            }
            self.statements.clear();
            let config = &self.config;
            let (client, connection) = self
                .io
                .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls)).await })
                .map_err(|_| StoreError::Unreachable(format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())))??;
            // Runs while this thread waits on the runtime: whenever the worker talks to the database.
            self.io.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "a database connection ended");
                }
            });
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("connected"))
    }

    /// The statement for `sql`, prepared once per connection (the caller made sure of one).
    fn prepared(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let client = self.client.as_ref().expect("connected by the caller");
        let s = self.io.block_on(client.prepare(sql)).map_err(|e| self.failed(e))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs one statement, sending the pending transaction steps ahead of it in the same round
    /// trip.
    fn run(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)], op: Op) -> StoreResult<Ran> {
        // A batch's first statement, on a connection that died while the worker was idle, is
        // tried once more on a new one: the transaction it would have begun never existed.
        let retry = (!self.in_transaction && self.pending.contains("BEGIN")).then(|| self.pending.clone());
        match self.run_once(sql, params, op) {
            Err(e) if e.is_unreachable() && retry.is_some() => {
                self.in_transaction = false;
                self.pending = retry.unwrap_or_default();
                self.run_once(sql, params, op)
            }
            ran => ran,
        }
    }

    fn run_once(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)], op: Op) -> StoreResult<Ran> {
        self.client()?;
        let statement = self.prepared(sql)?;
        let pending = std::mem::take(&mut self.pending);
        self.in_transaction |= pending.contains("BEGIN");
        let client = self.client.as_ref().expect("connected above");
        let ran = self.io.block_on(async {
            let ran = async {
                match op {
                    Op::Query => client.query(&statement, params).await.map(Ran::Rows),
                    Op::Execute => client.execute(&statement, params).await.map(Ran::Count),
                }
            };
            if pending.is_empty() {
                ran.await
            } else {
                let (steps, ran) = futures_util::future::join(client.batch_execute(&pending), ran).await;
                steps.and(ran)
            }
        });
        ran.map_err(|e| self.failed(e))
    }

    /// What a failed statement answers. Two batches (of two workers or two nodes) waiting on
    /// each other's rows: the database broke the tie by failing this one; its job is undone
    /// alone and its caller may try again. A connection that failed as unreachable is not used
    /// again: the next batch makes another.
    fn failed(&mut self, e: tokio_postgres::Error) -> StoreError {
        if e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) {
            tracing::warn!(error = %e, "a job lost a deadlock between two batches; answered busy");
            return StoreError::Busy;
        }
        self.forget_if_unreachable(e.into())
    }

    /// A connection that failed as unreachable is not used again: the next batch makes another.
    fn forget_if_unreachable(&mut self, e: StoreError) -> StoreError {
        if e.is_unreachable() {
            self.client = None;
        }
        e
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        match self.run(sql, params, Op::Query)? {
            Ran::Rows(rows) => Ok(rows),
            Ran::Count(_) => unreachable!("a query answers rows"),
        }
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(StoreError::Rows { expected: "at most one", got: rows.len() });
        }
        Ok(rows.pop())
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Row> {
        let mut rows = self.query(sql, params)?;
        if rows.len() != 1 {
            return Err(StoreError::Rows { expected: "one", got: rows.len() });
        }
        Ok(rows.pop().expect("one row"))
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        match self.run(sql, params, Op::Execute)? {
            Ran::Count(n) => Ok(n),
            Ran::Rows(_) => unreachable!("an execute answers a count"),
        }
    }

    /// Sends the pending steps and `last` (a transaction's end) in one round trip.
    fn finish(&mut self, last: &str) -> StoreResult<()> {
        let mut steps = std::mem::take(&mut self.pending);
        let began = std::mem::take(&mut self.in_transaction);
        if !began {
            // Nothing of this transaction reached the server: nothing to end.
            return Ok(());
        }
        steps.push_str(last);
        let Some(client) = self.client.as_ref() else {
            return Err(StoreError::Unreachable("the database connection was lost during the batch".into()));
        };
        self.io.block_on(client.batch_execute(&steps)).map_err(|e| self.forget_if_unreachable(e.into()))
    }

    fn sessions(&mut self, filter: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s {filter}");
        Ok(self.query(&sql, params)?.iter().map(session_row).collect())
    }

    fn session_by_id(&mut self, id: &str) -> StoreResult<Option<SessionRow>> {
        Ok(self.sessions("WHERE s.id = $1", &[&id])?.pop())
    }

    fn open_session_of(&mut self, conversation: &str) -> StoreResult<Option<SessionRow>> {
        Ok(self.sessions("WHERE s.conversation = $1 AND s.state != 'closed'", &[&conversation])?.pop())
    }

    /// Takes the conversation's row lock until the batch commits: rules on one conversation from
    /// different nodes run one after the other.
    fn lock_conversation(&mut self, conversation: &str) -> StoreResult<bool> {
        Ok(self.query_opt("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", &[&conversation])?.is_some())
    }

    fn lock_session_conversation(&mut self, session: &str) -> StoreResult<()> {
        if let Some(row) = self.query_opt("SELECT conversation FROM sessions WHERE id = $1", &[&session])? {
            let conversation: String = row.get(0);
            self.lock_conversation(&conversation)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one row's columns, each a plain value
    fn append(
        &mut self,
        conversation: &str,
        session: Option<&str>,
        author: Option<&str>,
        client_id: Option<&str>,
        sender: &Sender,
        body: &Body,
        now_ms: u64,
    ) -> StoreResult<ChatMessage> {
        let seq: i64 =
            self.query_one("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", &[&conversation])?.get(0);
        let (sender_json, body_json) = (serde_json::to_string(sender)?, serde_json::to_string(body)?);
        self.execute(
            "INSERT INTO messages(conversation, seq, session, author, client_id, sender, body, at_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            &[&conversation, &seq, &session, &author, &client_id, &sender_json, &body_json, &ms(now_ms)],
        )?;
        if let Some(session) = session {
            self.execute("UPDATE sessions SET last_seq = $2, last_ms = $3 WHERE id = $1", &[&session, &seq, &ms(now_ms)])?;
        }
        Ok(ChatMessage { seq: seq as u64, sender: sender.clone(), body: body.clone(), client_id: client_id.map(Into::into), at_ms: now_ms })
    }

    fn existing_message(&mut self, conversation: &str, author: &str, client_id: &str) -> StoreResult<Option<(ChatMessage, Option<String>)>> {
        let row = self.query_opt(
            "SELECT seq, sender, body, client_id, at_ms, session FROM messages WHERE conversation = $1 AND author = $2 AND client_id = $3",
            &[&conversation, &author, &client_id],
        )?;
        row.map(|r| Ok((message(&r)?, r.get(5)))).transpose()
    }

    fn conversation_ref(&mut self, id: &str) -> StoreResult<Option<ConversationRef>> {
        Ok(self
            .query_opt("SELECT id, channel, user_key FROM conversations WHERE id = $1", &[&id])?
            .map(|r| ConversationRef { id: r.get(0), channel: r.get(1), user_key: r.get(2) }))
    }
}

fn receipts_of(r: &Row) -> consult_sdk::protocol::Receipts {
    consult_sdk::protocol::Receipts {
        visitor_delivered_seq: r.get::<_, i64>(0) as u64,
        visitor_read_seq: r.get::<_, i64>(1) as u64,
        agent_read_seq: r.get::<_, i64>(2) as u64,
    }
}

/// A batch on PostgreSQL commits after this long: each job is a round trip or a few, so a batch
/// of [`super::MAX_BATCH`] jobs would make its first caller wait a second for the commit.
const BATCH_BUDGET: Duration = Duration::from_millis(10);

impl Store for PostgresStore {
    fn batch_budget(&self) -> Option<Duration> {
        Some(BATCH_BUDGET)
    }

    fn batch(&mut self, step: BatchStep) -> StoreResult<()> {
        // Steps wait in `pending` for the job's first statement (one round trip for both); a
        // transaction whose jobs ran no statement costs none.
        match step {
            BatchStep::Begin => self.pending.push_str("BEGIN;"),
            BatchStep::Mark => self.pending.push_str("SAVEPOINT job;"),
            BatchStep::Keep => self.pending.push_str("RELEASE SAVEPOINT job;"),
            BatchStep::Undo => self.pending.push_str("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job;"),
            BatchStep::Commit => return self.finish("COMMIT"),
            BatchStep::Abort => {
                self.pending.clear();
                return self.finish("ROLLBACK");
            }
        }
        Ok(())
    }

    fn channel_secret(&mut self, channel: &str, purpose: &str) -> StoreResult<[u8; 32]> {
        // Two nodes creating it at once keep one: the first insert wins, both read it back.
        let fresh = crate::identity::random_bytes::<32>().to_vec();
        self.execute(
            "INSERT INTO channel_secrets(channel, purpose, secret) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&channel, &purpose, &fresh],
        )?;
        let bytes: Vec<u8> =
            self.query_one("SELECT secret FROM channel_secrets WHERE channel = $1 AND purpose = $2", &[&channel, &purpose])?.get(0);
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| StoreError::Commit("a stored channel secret is not 32 bytes".into()))
    }

    fn launch(&mut self, channel: &str, user_key: &str, context: &LaunchContext, now_ms: u64) -> StoreResult<String> {
        let context_json = serde_json::to_string(context)?;
        let conversation: String = self
            .query_one(
                "INSERT INTO conversations(id, channel, user_key, context, created_ms) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(channel, user_key) DO UPDATE SET context = excluded.context RETURNING id",
                &[&random_id("c"), &channel, &user_key, &context_json, &ms(now_ms)],
            )?
            .get(0);
        let handle = crate::identity::random_token(24);
        self.execute("INSERT INTO handles(handle, conversation, created_ms) VALUES ($1, $2, $3)", &[&handle, &conversation, &ms(now_ms)])?;
        Ok(handle)
    }

    fn resolve_handle(&mut self, handle: &str, now_ms: u64) -> StoreResult<Option<ConversationRef>> {
        let oldest = ms(now_ms.saturating_sub(super::HANDLE_TTL_MS));
        Ok(self
            .query_opt(
                "SELECT c.id, c.channel, c.user_key FROM handles h JOIN conversations c ON c.id = h.conversation
                 WHERE h.handle = $1 AND h.revoked = 0 AND h.created_ms > $2",
                &[&handle, &oldest],
            )?
            .map(|r| ConversationRef { id: r.get(0), channel: r.get(1), user_key: r.get(2) }))
    }

    fn conversation_state(&mut self, conversation: &str) -> StoreResult<(Option<SessionRow>, u64)> {
        let last_seq: i64 =
            self.query_opt("SELECT last_seq FROM conversations WHERE id = $1", &[&conversation])?.map_or(0, |r| r.get(0));
        let session = self.sessions("WHERE s.conversation = $1 ORDER BY s.ord DESC LIMIT 1", &[&conversation])?.pop();
        Ok((session, last_seq as u64))
    }

    fn messages_after(&mut self, conversation: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>> {
        self.query(
            "SELECT seq, sender, body, client_id, at_ms FROM messages WHERE conversation = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&conversation, &ms(after_seq), &i64::from(limit)],
        )?
        .iter()
        .map(message)
        .collect()
    }

    fn session_messages(&mut self, session: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<ChatMessage>> {
        self.query(
            "SELECT seq, sender, body, client_id, at_ms FROM messages WHERE session = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&session, &ms(after_seq), &i64::from(limit)],
        )?
        .iter()
        .map(message)
        .collect()
    }

    fn visitor_write(&mut self, conversation: &str, client_id: &str, body: &Body, open_as: &OpenAs, now_ms: u64) -> StoreResult<VisitorWrite> {
        let (state, category) = match open_as {
            OpenAs::Bot => (SessionState::Bot, None),
            OpenAs::Queued(c) => (SessionState::Queued, c.clone()),
        };
        let (sender_json, body_json) = (serde_json::to_string(&Sender::Visitor)?, serde_json::to_string(body)?);
        let row = self.query_one(
            "SELECT session_id, seq, at_ms, body, duplicate, opened FROM consult_visitor_write($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&conversation, &client_id, &sender_json, &body_json, &state_str(state), &category, &random_id("s"), &ms(now_ms)],
        )?;
        let (session_id, duplicate, opened): (String, bool, bool) = (row.get(0), row.get(4), row.get(5));
        let message = ChatMessage {
            seq: row.get::<_, i64>(1) as u64,
            sender: Sender::Visitor,
            body: serde_json::from_str(row.get(3))?,
            client_id: Some(client_id.into()),
            at_ms: row.get::<_, i64>(2) as u64,
        };
        let session = self.session_by_id(&session_id)?.ok_or_else(|| StoreError::Commit("the session written to vanished".into()))?;
        Ok(VisitorWrite { message, duplicate, session, opened })
    }

    fn system_write(&mut self, conversation: &str, sender: &Sender, body: &Body, now_ms: u64) -> StoreResult<ChatMessage> {
        self.lock_conversation(conversation)?;
        let session = self.open_session_of(conversation)?;
        self.append(conversation, session.as_ref().map(|s| s.id.as_str()), None, None, sender, body, now_ms)
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
        // The function checks what rules::access::agent_may_write checks, on the row it locked
        // (one round trip); the conformance suite holds both stores to the same answers.
        let sender = Sender::Agent { id: agent_id.into(), name: agent_name.into() };
        let (sender_json, body_json) = (serde_json::to_string(&sender)?, serde_json::to_string(body)?);
        let row = self.query_one(
            "SELECT outcome, conversation, seq, at_ms, sender, body FROM consult_agent_write($1, $2, $3, $4, $5, $6)",
            &[&session, &agent_id, &client_id, &sender_json, &body_json, &ms(now_ms)],
        )?;
        let refused = match row.get::<_, &str>(0) {
            "ok" => None,
            "unknown_session" => Some(AgentWriteError::UnknownSession),
            "not_open" => Some(AgentWriteError::NotOpen),
            _ => Some(AgentWriteError::NotAssigned),
        };
        if let Some(refused) = refused {
            return Ok(Err(refused));
        }
        let message = ChatMessage {
            seq: row.get::<_, i64>(2) as u64,
            sender: serde_json::from_str(row.get(4))?,
            body: serde_json::from_str(row.get(5))?,
            client_id: Some(client_id.into()),
            at_ms: row.get::<_, i64>(3) as u64,
        };
        Ok(Ok((row.get(1), message)))
    }

    fn session(&mut self, id: &str) -> StoreResult<Option<SessionRow>> {
        self.session_by_id(id)
    }

    fn queue_session(&mut self, session: &str, category: Option<&str>, now_ms: u64) -> StoreResult<Option<SessionRow>> {
        self.lock_session_conversation(session)?;
        let n = self.execute(
            "UPDATE sessions SET state = 'queued', category = $2, last_ms = GREATEST(last_ms, $3) WHERE id = $1 AND state IN ('bot', 'waiting')",
            &[&session, &category, &ms(now_ms)],
        )?;
        if n == 0 { Ok(None) } else { self.session_by_id(session) }
    }

    fn set_current_page(&mut self, session: &str, page: Option<&str>) -> StoreResult<Option<SessionRow>> {
        let n = self.execute("UPDATE sessions SET current_page = $2 WHERE id = $1 AND state != 'closed'", &[&session, &page])?;
        if n == 0 { Ok(None) } else { self.session_by_id(session) }
    }

    fn assign(&mut self, session: &str, agent: &str, from: Option<&str>) -> StoreResult<Option<SessionRow>> {
        self.lock_session_conversation(session)?;
        let n = match from {
            Some(from) => self.execute(
                "UPDATE sessions SET agent = $2 WHERE id = $1 AND state = 'assigned' AND agent = $3",
                &[&session, &agent, &from],
            )?,
            None => self.execute("UPDATE sessions SET agent = $2, state = 'assigned' WHERE id = $1 AND state = 'queued'", &[&session, &agent])?,
        };
        if n == 0 { Ok(None) } else { self.session_by_id(session) }
    }

    fn close_session(&mut self, session: &str, reason: CloseReason, notice: &str, now_ms: u64) -> StoreResult<Option<(SessionRow, ChatMessage)>> {
        self.lock_session_conversation(session)?;
        let Some(row) = self.session_by_id(session)? else { return Ok(None) };
        if !row.is_open() {
            return Ok(None);
        }
        let message = self.append(&row.conversation, Some(session), None, None, &Sender::System, &Body::Text { text: notice.into() }, now_ms)?;
        self.execute(
            "UPDATE sessions SET state = 'closed', close_reason = $2, closed_ms = $3 WHERE id = $1",
            &[&session, &reason_str(reason), &ms(now_ms)],
        )?;
        let row = self.session_by_id(session)?.ok_or(StoreError::Commit("the session vanished".into()))?;
        Ok(Some((row, message)))
    }

    fn queued(&mut self) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.state = 'queued' ORDER BY s.ord", &[])
    }

    fn agent_sessions(&mut self, agent: &str) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.state = 'assigned' AND s.agent = $1 ORDER BY s.ord", &[&agent])
    }

    fn agent_loads(&mut self) -> StoreResult<Vec<(String, u32)>> {
        Ok(self
            .query("SELECT agent, COUNT(*) FROM sessions WHERE state = 'assigned' GROUP BY agent", &[])?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u32))
            .collect())
    }

    fn agent_load_locked(&mut self, agent: &str) -> StoreResult<u32> {
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended('consult-agent:' || $1, 0))", &[&agent])?;
        let n: i64 = self.query_one("SELECT COUNT(*) FROM sessions WHERE state = 'assigned' AND agent = $1", &[&agent])?.get(0);
        Ok(n as u32)
    }

    fn history(&mut self, channel: &str, user_key: &str, limit: u32) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.channel = $1 AND s.user_key = $2 ORDER BY s.ord DESC LIMIT $3", &[&channel, &user_key, &i64::from(limit)])
    }

    fn stale_sessions(&mut self, channel: &str, before_ms: u64) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.state != 'closed' AND s.channel = $1 AND s.last_ms < $2", &[&channel, &ms(before_ms)])
    }

    fn block(&mut self, channel: &str, user_key: &str, until_ms: u64, reason: &str, agent: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO blocks(channel, user_key, until_ms, reason, agent, created_ms) VALUES ($1,$2,$3,$4,$5,$6)",
            &[&channel, &user_key, &ms(until_ms), &reason, &agent, &ms(crate::now_ms())],
        )?;
        Ok(())
    }

    fn is_blocked(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<bool> {
        Ok(self
            .query_opt("SELECT 1 FROM blocks WHERE channel = $1 AND user_key = $2 AND until_ms > $3 LIMIT 1", &[&channel, &user_key, &ms(now_ms)])?
            .is_some())
    }

    fn agent_token_put(&mut self, token_sha256: &[u8; 32], agent: &str, now_ms: u64, expires_ms: u64) -> StoreResult<()> {
        self.execute("DELETE FROM agent_tokens WHERE expires_ms <= $1", &[&ms(now_ms)])?;
        self.execute(
            "INSERT INTO agent_tokens(token_sha256, agent, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
            &[&&token_sha256[..], &agent, &ms(now_ms), &ms(expires_ms)],
        )?;
        Ok(())
    }

    fn agent_token_get(&mut self, token_sha256: &[u8; 32], now_ms: u64) -> StoreResult<Option<String>> {
        Ok(self
            .query_opt("SELECT agent FROM agent_tokens WHERE token_sha256 = $1 AND expires_ms > $2", &[&&token_sha256[..], &ms(now_ms)])?
            .map(|r| r.get(0)))
    }

    fn agent_token_delete(&mut self, token_sha256: &[u8; 32]) -> StoreResult<()> {
        self.execute("DELETE FROM agent_tokens WHERE token_sha256 = $1", &[&&token_sha256[..]])?;
        Ok(())
    }

    fn handoff_minted(&mut self, serial: u64, handle: &str, expires_ms: u64) -> StoreResult<()> {
        self.execute("INSERT INTO handoffs(serial, handle, expires_ms) VALUES ($1, $2, $3)", &[&(serial as i64), &handle, &ms(expires_ms)])?;
        Ok(())
    }

    fn handoff_use(&mut self, serial: u64, now_ms: u64) -> StoreResult<Option<(String, String, ConversationRef)>> {
        let Some(old) = self.query_opt(
            "UPDATE handoffs SET used_ms = $2 WHERE serial = $1 AND used_ms IS NULL AND expires_ms > $2 RETURNING handle",
            &[&(serial as i64), &ms(now_ms)],
        )?
        else {
            return Ok(None);
        };
        let old: String = old.get(0);
        let Some(conv) = self.query_opt("UPDATE handles SET revoked = 1 WHERE handle = $1 AND revoked = 0 RETURNING conversation", &[&old])? else {
            return Ok(None);
        };
        let conv: String = conv.get(0);
        let Some(conversation) = self.conversation_ref(&conv)? else { return Ok(None) };
        let handle = crate::identity::random_token(24);
        self.execute("INSERT INTO handles(handle, conversation, created_ms) VALUES ($1, $2, $3)", &[&handle, &conv, &ms(now_ms)])?;
        Ok(Some((old, handle, conversation)))
    }

    fn put_attachment(&mut self, a: &Attachment, now_ms: u64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO attachments(id, conversation, agent, mime, name, size, data, blob_key, sha256, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            &[&a.id, &a.conversation, &a.agent, &a.mime, &a.name, &(a.size as i64), &a.data_column(), &a.bytes.blob_key(), &a.sha256, &ms(now_ms)],
        )?;
        Ok(())
    }

    fn attachment(&mut self, id: &str) -> StoreResult<Option<Attachment>> {
        let row = self.query_opt(
            "SELECT id, conversation, agent, mime, name, size, blob_key, sha256, CASE WHEN blob_key IS NULL THEN data END FROM attachments WHERE id = $1",
            &[&id],
        )?;
        Ok(row.map(|r| {
            let (bytes, sha256) = Attachment::bytes_from_columns(r.get(6), r.get(7), r.get(8));
            Attachment { id: r.get(0), conversation: r.get(1), agent: r.get(2), mime: r.get(3), name: r.get(4), size: r.get::<_, i64>(5) as u64, sha256, bytes }
        }))
    }

    fn blob_keys_in_use(&mut self, keys: &[String]) -> StoreResult<Vec<String>> {
        let rows = self.query("SELECT blob_key FROM attachments WHERE blob_key = ANY($1)", &[&keys])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn purge(&mut self, channel: &str, before_ms: u64, now_ms: u64) -> StoreResult<Purged> {
        let empty = serde_json::to_string(&LaunchContext::default())?;
        let before = ms(before_ms);
        self.execute(
            "UPDATE sessions SET context = $3, current_page = NULL WHERE channel = $1 AND state = 'closed' AND closed_ms < $2 AND context != $3",
            &[&channel, &before, &empty],
        )?;
        self.execute(
            "UPDATE conversations SET context = $3 WHERE channel = $1 AND context != $3
             AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.conversation = conversations.id AND (s.state != 'closed' OR s.closed_ms >= $2))
             AND NOT EXISTS (SELECT 1 FROM handles h WHERE h.conversation = conversations.id AND h.created_ms >= $2)",
            &[&channel, &before, &empty],
        )?;
        let expired = ms(now_ms.saturating_sub(super::HANDLE_TTL_MS));
        self.execute(
            "DELETE FROM handles WHERE created_ms <= $2 AND conversation IN (SELECT id FROM conversations WHERE channel = $1)",
            &[&channel, &expired],
        )?;
        self.execute("DELETE FROM blocks WHERE channel = $1 AND until_ms <= $2", &[&channel, &ms(now_ms)])?;
        self.execute("DELETE FROM handoffs WHERE expires_ms <= $1", &[&ms(now_ms)])?;
        let n = self.execute(
            "DELETE FROM messages WHERE at_ms < $2 AND conversation IN (SELECT id FROM conversations WHERE channel = $1)
             AND (session IS NULL OR session IN (SELECT id FROM sessions WHERE state = 'closed'))",
            &[&channel, &before],
        )?;
        let blobs = self
            .query(
                "DELETE FROM attachments WHERE created_ms < $2 AND (conversation IS NULL OR conversation IN (SELECT id FROM conversations WHERE channel = $1))
                 RETURNING blob_key",
                &[&channel, &before],
            )?
            .iter()
            .filter_map(|r| r.get::<_, Option<String>>(0))
            .collect();
        Ok(Purged { messages: n, blobs })
    }

    fn search(&mut self, channels: &[String], query: &str, limit: u32) -> StoreResult<Vec<SessionRow>> {
        let channels = channels.to_vec();
        self.sessions(
            "WHERE s.channel = ANY($1) AND (
                position(lower($2) in lower(s.user_key)) > 0
                OR position(lower($2) in lower(coalesce(s.context::jsonb #>> '{member,id}', ''))) > 0
                OR position(lower($2) in lower(coalesce(s.context::jsonb #>> '{member,name}', ''))) > 0
                OR EXISTS (SELECT 1 FROM session_tags t WHERE t.session = s.id AND position(lower($2) in t.tag) > 0)
                OR EXISTS (SELECT 1 FROM messages m WHERE m.session = s.id
                           AND position(lower($2) in lower(coalesce(m.body::jsonb ->> 'text', m.body::jsonb ->> 'name', ''))) > 0))
             ORDER BY s.ord DESC LIMIT $3",
            &[&channels, &query, &i64::from(limit)],
        )
    }

    fn set_tags(&mut self, session: &str, tags: &[String]) -> StoreResult<()> {
        self.execute("DELETE FROM session_tags WHERE session = $1", &[&session])?;
        for (i, t) in tags.iter().enumerate() {
            self.execute("INSERT INTO session_tags(session, pos, tag) VALUES ($1, $2, $3)", &[&session, &(i as i64), t])?;
        }
        Ok(())
    }

    fn tags(&mut self, session: &str) -> StoreResult<Vec<String>> {
        Ok(self.query("SELECT tag FROM session_tags WHERE session = $1 ORDER BY pos", &[&session])?.iter().map(|r| r.get(0)).collect())
    }

    fn blocks(&mut self, channels: &[String], now_ms: u64) -> StoreResult<Vec<consult_sdk::protocol::BlockInfo>> {
        let channels = channels.to_vec();
        Ok(self
            .query(
                "SELECT channel, user_key, until_ms, reason, agent, created_ms FROM blocks
                 WHERE channel = ANY($1) AND until_ms > $2 ORDER BY ord DESC LIMIT 500",
                &[&channels, &ms(now_ms)],
            )?
            .iter()
            .map(|r| consult_sdk::protocol::BlockInfo {
                channel: r.get(0),
                user_key: r.get(1),
                until_ms: r.get::<_, i64>(2) as u64,
                reason: r.get(3),
                agent: r.get(4),
                created_ms: r.get::<_, i64>(5) as u64,
            })
            .collect())
    }

    fn unblock(&mut self, channel: &str, user_key: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM blocks WHERE channel = $1 AND user_key = $2", &[&channel, &user_key])
    }

    fn bot_sessions(&mut self) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.state = 'bot' ORDER BY s.ord", &[])
    }

    fn mark_session(&mut self, session: &str, mark: &super::SessionMark, now_ms: u64) -> StoreResult<()> {
        use super::SessionMark;
        let now = ms(now_ms);
        match mark {
            SessionMark::Opened { entry } => self.execute("UPDATE sessions SET entry_point = COALESCE(entry_point, $2) WHERE id = $1", &[&session, entry])?,
            SessionMark::Queued => self.execute("UPDATE sessions SET queued_ms = COALESCE(queued_ms, $2) WHERE id = $1", &[&session, &now])?,
            SessionMark::Assigned => self.execute("UPDATE sessions SET assigned_ms = COALESCE(assigned_ms, $2) WHERE id = $1", &[&session, &now])?,
            SessionMark::FirstReply => {
                self.execute("UPDATE sessions SET first_reply_ms = $2 WHERE id = $1 AND first_reply_ms IS NULL", &[&session, &now])?
            }
            SessionMark::Transfer => self.execute("UPDATE sessions SET transfers = transfers + 1 WHERE id = $1", &[&session])?,
        };
        Ok(())
    }

    fn rate_session(&mut self, session: &str, score: u8, comment: Option<&str>, now_ms: u64) -> StoreResult<bool> {
        let n = self.execute(
            "UPDATE sessions SET rating = $2, rating_comment = $3, rated_ms = $4 WHERE id = $1 AND rating IS NULL",
            &[&session, &i64::from(score), &comment, &ms(now_ms)],
        )?;
        Ok(n == 1)
    }

    fn rating(&mut self, session: &str) -> StoreResult<Option<consult_sdk::protocol::RatingInfo>> {
        Ok(self
            .query_opt("SELECT rating, rating_comment, rated_ms FROM sessions WHERE id = $1 AND rating IS NOT NULL", &[&session])?
            .map(|r| consult_sdk::protocol::RatingInfo { score: r.get::<_, i64>(0) as u8, comment: r.get(1), at_ms: r.get::<_, i64>(2) as u64 }))
    }

    fn add_note(&mut self, session: &str, agent: &str, agent_name: &str, text: &str, now_ms: u64) -> StoreResult<()> {
        self.lock_session_conversation(session)?;
        self.execute(
            "INSERT INTO session_notes(session, pos, agent, agent_name, text, at_ms)
             VALUES ($1, (SELECT COALESCE(MAX(pos), 0) + 1 FROM session_notes WHERE session = $1), $2, $3, $4, $5)",
            &[&session, &agent, &agent_name, &text, &ms(now_ms)],
        )?;
        Ok(())
    }

    fn notes(&mut self, session: &str) -> StoreResult<Vec<consult_sdk::protocol::NoteInfo>> {
        Ok(self
            .query("SELECT agent, agent_name, text, at_ms FROM session_notes WHERE session = $1 ORDER BY pos", &[&session])?
            .iter()
            .map(|r| consult_sdk::protocol::NoteInfo { agent: r.get(0), agent_name: r.get(1), text: r.get(2), at_ms: r.get::<_, i64>(3) as u64 })
            .collect())
    }

    fn open_sessions(&mut self) -> StoreResult<Vec<SessionRow>> {
        self.sessions("WHERE s.state != 'closed' ORDER BY s.opened_ms", &[])
    }

    fn report_rows(&mut self, channels: &[String], from_ms: u64, to_ms: u64) -> StoreResult<Vec<super::ReportRow>> {
        let channels = channels.to_vec();
        let opt = |v: Option<i64>| v.map(|x| x as u64);
        Ok(self
            .query(
                "SELECT channel, entry_point, category, agent, opened_ms, queued_ms, assigned_ms, first_reply_ms, closed_ms, transfers, rating
                 FROM sessions WHERE channel = ANY($1) AND opened_ms >= $2 AND opened_ms < $3 ORDER BY opened_ms",
                &[&channels, &ms(from_ms), &ms(to_ms)],
            )?
            .iter()
            .map(|r| super::ReportRow {
                channel: r.get(0),
                entry: r.get(1),
                category: r.get(2),
                agent: r.get(3),
                opened_ms: r.get::<_, i64>(4) as u64,
                queued_ms: opt(r.get(5)),
                assigned_ms: opt(r.get(6)),
                first_reply_ms: opt(r.get(7)),
                closed_ms: opt(r.get(8)),
                transfers: r.get::<_, i64>(9) as u32,
                rating: r.get::<_, Option<i64>>(10).map(|x| x as u8),
            })
            .collect())
    }

    fn recent_waits(&mut self, channel: &str, since_ms: u64, limit: u32) -> StoreResult<Vec<u64>> {
        Ok(self
            .query(
                "SELECT assigned_ms - queued_ms FROM sessions WHERE channel = $1 AND assigned_ms >= $2 AND queued_ms IS NOT NULL
                 ORDER BY assigned_ms DESC LIMIT $3",
                &[&channel, &ms(since_ms), &i64::from(limit)],
            )?
            .iter()
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .collect())
    }

    fn audit_append(&mut self, e: &super::AuditEntry) -> StoreResult<()> {
        self.execute(
            "INSERT INTO audit_log(at_ms, actor, action, channel, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&ms(e.at_ms), &e.actor, &e.action, &e.channel, &e.target, &e.detail],
        )?;
        Ok(())
    }

    fn audit_list(&mut self, f: &super::AuditFilter) -> StoreResult<Vec<super::AuditEntry>> {
        let channels = f.channels.clone();
        Ok(self
            .query(
                "SELECT id, at_ms, actor, action, channel, target, detail FROM audit_log
                 WHERE (channel IS NULL OR channel = ANY($1))
                   AND ($2::TEXT IS NULL OR actor = $2) AND ($3::TEXT IS NULL OR action = $3) AND at_ms >= $4 AND at_ms < $5
                 ORDER BY id DESC LIMIT $6",
                &[&channels, &f.actor, &f.action, &ms(f.from_ms), &(f.to_ms.min(i64::MAX as u64) as i64), &i64::from(f.limit)],
            )?
            .iter()
            .map(|r| super::AuditEntry {
                id: r.get::<_, i64>(0) as u64,
                at_ms: r.get::<_, i64>(1) as u64,
                actor: r.get(2),
                action: r.get(3),
                channel: r.get(4),
                target: r.get(5),
                detail: r.get(6),
            })
            .collect())
    }

    fn api_key_put(&mut self, k: &super::ApiKeyRow) -> StoreResult<()> {
        let scopes = k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        self.execute(
            "INSERT INTO api_keys(id, channel, name, scopes, agent, hash, created_ms, last_used_ms, revoked_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            &[&k.id, &k.channel, &k.name, &scopes, &k.agent, &&k.hash[..], &ms(k.created_ms), &k.last_used_ms.map(ms), &k.revoked_ms.map(ms)],
        )?;
        Ok(())
    }

    fn api_key_get(&mut self, id: &str) -> StoreResult<Option<super::ApiKeyRow>> {
        Ok(self.query_opt(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"), &[&id])?.map(|r| key_row(&r)))
    }

    fn api_keys(&mut self, channel: &str) -> StoreResult<Vec<super::ApiKeyRow>> {
        Ok(self.query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE channel = $1 ORDER BY created_ms DESC, id"), &[&channel])?.iter().map(key_row).collect())
    }

    fn api_key_revoke(&mut self, channel: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        Ok(self.execute("UPDATE api_keys SET revoked_ms = $3 WHERE channel = $1 AND id = $2 AND revoked_ms IS NULL", &[&channel, &id, &ms(now_ms)])? > 0)
    }

    fn api_key_used(&mut self, id: &str, now_ms: u64) -> StoreResult<()> {
        self.execute("UPDATE api_keys SET last_used_ms = $2::bigint WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2::bigint - 60000)", &[&id, &ms(now_ms)])?;
        Ok(())
    }

    fn counsel_sessions(&mut self, channel: &str, state: Option<SessionState>, after: Option<(u64, &str)>, limit: u32) -> StoreResult<Vec<SessionRow>> {
        let (after_ms, after_id) = after.map_or((-1, ""), |(t, id)| (ms(t), id));
        let state = state.map(state_str).unwrap_or("");
        self.sessions(
            "WHERE s.channel = $1 AND ($2::text = '' OR s.state = $2::text) AND (s.opened_ms > $3::bigint OR (s.opened_ms = $3::bigint AND s.id > $4::text))
             ORDER BY s.opened_ms, s.id LIMIT $5::bigint",
            &[&channel, &state, &after_ms, &after_id, &i64::from(limit)],
        )
    }

    fn raise_receipt(&mut self, conversation: &str, mark: super::ReceiptMark, seq: u64) -> StoreResult<Option<consult_sdk::protocol::Receipts>> {
        use super::ReceiptMark::*;
        let sql = match mark {
            VisitorDelivered => "UPDATE conversations SET visitor_delivered_seq = LEAST($2, last_seq) \
                WHERE id = $1 AND visitor_delivered_seq < LEAST($2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
            VisitorRead => "UPDATE conversations SET visitor_read_seq = LEAST($2, last_seq), \
                visitor_delivered_seq = GREATEST(visitor_delivered_seq, LEAST($2, last_seq)) \
                WHERE id = $1 AND visitor_read_seq < LEAST($2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
            AgentRead => "UPDATE conversations SET agent_read_seq = LEAST($2, last_seq) \
                WHERE id = $1 AND agent_read_seq < LEAST($2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
        };
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        Ok(self.query_opt(sql, &[&conversation, &seq])?.map(|r| receipts_of(&r)))
    }

    fn return_to_bot(&mut self, session: &str) -> StoreResult<Option<SessionRow>> {
        self.lock_session_conversation(session)?;
        let n = self.execute("UPDATE sessions SET state = 'bot', agent = NULL WHERE id = $1 AND state IN ('assigned', 'queued')", &[&session])?;
        if n == 0 { Ok(None) } else { self.session_by_id(session) }
    }

    fn agent_account(&mut self, agent: &str) -> StoreResult<super::AgentAccount> {
        let row = self.query_opt("SELECT disabled, password_hash FROM agent_accounts WHERE agent = $1", &[&agent])?;
        Ok(row.map(|r| super::AgentAccount { disabled: r.get(0), password_hash: r.get(1) }).unwrap_or_default())
    }

    fn agent_accounts(&mut self) -> StoreResult<Vec<(String, super::AgentAccount)>> {
        let rows = self.query("SELECT agent, disabled, password_hash FROM agent_accounts ORDER BY agent", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), super::AgentAccount { disabled: r.get(1), password_hash: r.get(2) })).collect())
    }

    fn set_agent_account(&mut self, agent: &str, disabled: Option<bool>, password_hash: Option<&str>) -> StoreResult<()> {
        self.execute(
            "INSERT INTO agent_accounts(agent, disabled, password_hash) VALUES ($1, COALESCE($2::boolean, FALSE), $3::text)
             ON CONFLICT(agent) DO UPDATE SET disabled = COALESCE($2::boolean, agent_accounts.disabled),
                 password_hash = COALESCE($3::text, agent_accounts.password_hash)",
            &[&agent, &disabled, &password_hash],
        )?;
        Ok(())
    }

    fn agent_tokens_revoke(&mut self, agent: &str) -> StoreResult<Vec<[u8; 32]>> {
        let rows = self.query("DELETE FROM agent_tokens WHERE agent = $1 RETURNING token_sha256", &[&agent])?;
        Ok(rows.iter().filter_map(|r| <[u8; 32]>::try_from(r.get::<_, Vec<u8>>(0).as_slice()).ok()).collect())
    }

    fn canned_answers(&mut self) -> StoreResult<Option<Vec<consult_sdk::protocol::CannedAnswer>>> {
        if self.query_opt("SELECT 1 FROM runtime_settings WHERE name = 'canned'", &[])?.is_none() {
            return Ok(None);
        }
        let rows = self.query("SELECT shortcut, text FROM canned_answers ORDER BY pos", &[])?;
        Ok(Some(rows.iter().map(|r| consult_sdk::protocol::CannedAnswer { shortcut: r.get(0), text: r.get(1) }).collect()))
    }

    fn set_canned_answers(&mut self, answers: &[consult_sdk::protocol::CannedAnswer]) -> StoreResult<()> {
        // Several admins on several nodes: the last write wins whole, never a mix.
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&CANNED_LOCK])?;
        self.execute("DELETE FROM canned_answers", &[])?;
        for (i, a) in answers.iter().enumerate() {
            self.execute("INSERT INTO canned_answers(pos, shortcut, text) VALUES ($1, $2, $3)", &[&(i as i64), &a.shortcut, &a.text])?;
        }
        self.execute("INSERT INTO runtime_settings(name, value) VALUES ('canned', 'db') ON CONFLICT(name) DO NOTHING", &[])?;
        Ok(())
    }

    fn set_channel_enabled(&mut self, channel: &str, enabled: bool, by: &str, now_ms: u64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO channel_switches(channel, enabled, by_actor, at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT(channel) DO UPDATE SET enabled = excluded.enabled, by_actor = excluded.by_actor, at_ms = excluded.at_ms",
            &[&channel, &enabled, &by, &ms(now_ms)],
        )?;
        Ok(())
    }

    fn channel_switches(&mut self) -> StoreResult<Vec<(String, bool)>> {
        Ok(self.query("SELECT channel, enabled FROM channel_switches", &[])?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn runtime_list(&mut self, prefix: &str) -> StoreResult<Vec<super::RuntimeEntry>> {
        let rows = self.query("SELECT name, version, value FROM runtime_config WHERE substr(name, 1, length($1)) = $1 ORDER BY name", &[&prefix])?;
        Ok(rows.iter().map(|r| super::RuntimeEntry { name: r.get(0), version: r.get::<_, i64>(1) as u64, value: r.get(2) }).collect())
    }

    fn runtime_put(&mut self, name: &str, expected: u64, value: &str, by: &str, now_ms: u64) -> StoreResult<Option<u64>> {
        // The row lock makes a second writer with the same `expected` wait, then match nothing.
        let n = if expected == 0 {
            self.execute(
                "INSERT INTO runtime_config(name, version, value, by_actor, at_ms) VALUES ($1, 1, $2, $3, $4) ON CONFLICT(name) DO NOTHING",
                &[&name, &value, &by, &ms(now_ms)],
            )?
        } else {
            self.execute(
                "UPDATE runtime_config SET version = version + 1, value = $2, by_actor = $3, at_ms = $4 WHERE name = $1 AND version = $5",
                &[&name, &value, &by, &ms(now_ms), &ms(expected)],
            )?
        };
        Ok((n == 1).then_some(expected + 1))
    }

    fn receipts(&mut self, conversation: &str) -> StoreResult<consult_sdk::protocol::Receipts> {
        let row = self.query_opt("SELECT visitor_delivered_seq, visitor_read_seq, agent_read_seq FROM conversations WHERE id = $1", &[&conversation])?;
        Ok(row.map(|r| receipts_of(&r)).unwrap_or_default())
    }

    fn bot_write(&mut self, session: &str, client_id: &str, body: &Body, now_ms: u64) -> StoreResult<Result<(SessionRow, ChatMessage, bool), AgentWriteError>> {
        self.lock_session_conversation(session)?;
        let Some(row) = self.session_by_id(session)? else { return Ok(Err(AgentWriteError::UnknownSession)) };
        if let Some((message, _)) = self.existing_message(&row.conversation, "bot", client_id)? {
            return Ok(Ok((row, message, true)));
        }
        if row.state != SessionState::Bot {
            return Ok(Err(if row.is_open() { AgentWriteError::NotAssigned } else { AgentWriteError::NotOpen }));
        }
        let message = self.append(&row.conversation, Some(session), Some("bot"), Some(client_id), &Sender::Bot, body, now_ms)?;
        Ok(Ok((row, message, false)))
    }

    fn webhook_endpoint_put(&mut self, e: &super::EndpointRow, now_ms: u64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO webhook_endpoints(id, channel, url, secret, events, source, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7)
             ON CONFLICT(id) DO UPDATE SET channel = excluded.channel, url = excluded.url, secret = excluded.secret,
                events = excluded.events, source = excluded.source, deleted = 0",
            &[&e.id, &e.channel, &e.url, &e.secret, &e.events.join(","), &e.source, &ms(now_ms)],
        )?;
        Ok(())
    }

    fn webhook_endpoints(&mut self, channel: Option<&str>) -> StoreResult<Vec<super::EndpointRow>> {
        Ok(self
            .query(
                "SELECT e.id, e.channel, e.url, e.secret, e.events, e.source, e.paused_ms, e.paused_reason,
                    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.id AND d.status = 'pending'),
                    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.id AND d.status = 'failed')
                 FROM webhook_endpoints e WHERE e.deleted = 0 AND ($1 = '' OR e.channel = $1) ORDER BY e.id",
                &[&channel.unwrap_or("")],
            )?
            .iter()
            .map(|r| {
                let events: String = r.get(4);
                super::EndpointRow {
                    id: r.get(0),
                    channel: r.get(1),
                    url: r.get(2),
                    secret: r.get(3),
                    events: events.split(',').filter(|e| !e.is_empty()).map(Into::into).collect(),
                    source: r.get(5),
                    paused_ms: r.get::<_, Option<i64>>(6).map(|v| v as u64),
                    paused_reason: r.get(7),
                    pending: r.get::<_, i64>(8) as u64,
                    failed: r.get::<_, i64>(9) as u64,
                }
            })
            .collect())
    }

    fn webhook_endpoint_delete(&mut self, channel: &str, id: &str) -> StoreResult<bool> {
        let n = self.execute("UPDATE webhook_endpoints SET deleted = 1 WHERE channel = $1 AND id = $2 AND deleted = 0", &[&channel, &id])?;
        self.execute("DELETE FROM webhook_deliveries WHERE endpoint = $1 AND status = 'pending'", &[&id])?;
        Ok(n > 0)
    }

    fn webhook_emit(&mut self, channel: &str, session: Option<&str>, event_type: &str, payload: &str, id_base: &str, now_ms: u64) -> StoreResult<u64> {
        self.execute(
            "INSERT INTO webhook_deliveries(id, endpoint, channel, session, event_type, payload, status, next_ms, created_ms)
             SELECT $1 || '_' || e.id, e.id, $2, $3, $4, $5, 'pending', $6, $6 FROM webhook_endpoints e
             WHERE e.channel = $2 AND e.deleted = 0 AND (e.events = '*' OR (',' || e.events || ',') LIKE ('%,' || $4 || ',%'))",
            &[&id_base, &channel, &session.unwrap_or(""), &event_type, &payload, &ms(now_ms)],
        )
    }

    fn webhook_due(&mut self, now_ms: u64, limit: u32) -> StoreResult<Vec<super::DueDelivery>> {
        Ok(self
            .query(
                "SELECT d.n, d.id, d.endpoint, e.url, e.secret, d.payload, d.attempts, d.created_ms
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint
                 WHERE d.status = 'pending' AND d.next_ms <= $1 AND e.paused_ms IS NULL AND e.deleted = 0
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND p.session = d.session
                                   AND p.status = 'pending' AND p.n < d.n)
                 ORDER BY d.n LIMIT $2",
                &[&ms(now_ms), &i64::from(limit)],
            )?
            .iter()
            .map(|r| super::DueDelivery {
                n: r.get(0),
                id: r.get(1),
                endpoint: r.get(2),
                url: r.get(3),
                secret: r.get(4),
                payload: r.get(5),
                attempts: r.get::<_, i64>(6) as u32,
                created_ms: r.get::<_, i64>(7) as u64,
            })
            .collect())
    }

    fn webhook_outcome(&mut self, n: i64, outcome: &super::DeliveryOutcome, now_ms: u64) -> StoreResult<()> {
        use super::DeliveryOutcome;
        match outcome {
            DeliveryOutcome::Delivered => self.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = NULL, last_error = NULL, done_ms = $2 WHERE n = $1 AND status = 'pending'",
                &[&n, &ms(now_ms)],
            )?,
            DeliveryOutcome::Retry { next_ms, status, error } => self.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_ms = $2, last_status = $3, last_error = $4 WHERE n = $1 AND status = 'pending'",
                &[&n, &ms(*next_ms), &status.map(i64::from), error],
            )?,
            DeliveryOutcome::GiveUp { status, error } => self.execute(
                "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = $3, last_error = $4, done_ms = $2 WHERE n = $1 AND status = 'pending'",
                &[&n, &ms(now_ms), &status.map(i64::from), error],
            )?,
        };
        Ok(())
    }

    fn webhook_pause(&mut self, endpoint: &str, reason: &str, now_ms: u64) -> StoreResult<()> {
        self.execute("UPDATE webhook_endpoints SET paused_ms = $2, paused_reason = $3 WHERE id = $1 AND paused_ms IS NULL", &[&endpoint, &ms(now_ms), &reason])?;
        Ok(())
    }

    fn webhook_deliveries(&mut self, channel: &str, endpoint: &str, status: Option<&str>, limit: u32) -> StoreResult<Vec<consult_sdk::counsel::DeliveryInfo>> {
        Ok(self
            .query(
                "SELECT id, event_type, session, status, attempts, last_status, last_error, created_ms, next_ms FROM webhook_deliveries
                 WHERE channel = $1 AND endpoint = $2 AND ($3 = '' OR status = $3) ORDER BY n LIMIT $4",
                &[&channel, &endpoint, &status.unwrap_or(""), &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                let session: String = r.get(2);
                consult_sdk::counsel::DeliveryInfo {
                    id: r.get(0),
                    event_type: r.get(1),
                    session: (!session.is_empty()).then_some(session),
                    status: r.get(3),
                    attempts: r.get::<_, i64>(4) as u32,
                    last_status: r.get::<_, Option<i64>>(5).map(|v| v as u16),
                    last_error: r.get(6),
                    created_ms: r.get::<_, i64>(7) as u64,
                    next_ms: r.get::<_, i64>(8) as u64,
                }
            })
            .collect())
    }

    fn webhook_replay(&mut self, channel: &str, endpoint: &str, now_ms: u64) -> StoreResult<Option<u64>> {
        let found = self.execute(
            "UPDATE webhook_endpoints SET paused_ms = NULL, paused_reason = NULL WHERE channel = $1 AND id = $2 AND deleted = 0",
            &[&channel, &endpoint],
        )?;
        if found == 0 {
            return Ok(None);
        }
        let n = self.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_ms = $2, created_ms = $2, done_ms = NULL WHERE endpoint = $1 AND status = 'failed'",
            &[&endpoint, &ms(now_ms)],
        )?;
        self.execute("UPDATE webhook_deliveries SET next_ms = $2 WHERE endpoint = $1 AND status = 'pending' AND next_ms > $2", &[&endpoint, &ms(now_ms)])?;
        Ok(Some(n))
    }

    fn user_export(&mut self, channel: &str, user_key: &str) -> StoreResult<serde_json::Value> {
        use base64::Engine as _;
        use serde_json::json;
        // Columns stored as JSON text come back as JSON (text if ever corrupt, never an error).
        let col = |t: String| serde_json::from_str::<serde_json::Value>(&t).unwrap_or(serde_json::Value::String(t));
        let conversations: Vec<serde_json::Value> = self
            .query("SELECT id, context, created_ms FROM conversations WHERE channel = $1 AND user_key = $2", &[&channel, &user_key])?
            .iter()
            .map(|r| json!({ "id": r.get::<_, String>(0), "context": col(r.get(1)), "created_ms": r.get::<_, i64>(2) }))
            .collect();
        let ids: Vec<String> = conversations.iter().filter_map(|c| c["id"].as_str().map(String::from)).collect();
        let rows = self.query(
            "SELECT id, conversation, state, context, category, agent, opened_ms, closed_ms, close_reason, current_page, entry_point,
                    rating, rating_comment, rated_ms
             FROM sessions WHERE channel = $1 AND user_key = $2 ORDER BY opened_ms",
            &[&channel, &user_key],
        )?;
        let mut sessions = Vec::new();
        for r in &rows {
            let id: String = r.get(0);
            let tags: Vec<String> = self.query("SELECT tag FROM session_tags WHERE session = $1 ORDER BY pos", &[&id])?.iter().map(|t| t.get(0)).collect();
            let notes = Store::notes(self, &id)?;
            sessions.push(json!({
                "id": id, "conversation": r.get::<_, String>(1), "state": r.get::<_, String>(2), "context": col(r.get(3)),
                "category": r.get::<_, Option<String>>(4), "agent": r.get::<_, Option<String>>(5), "opened_ms": r.get::<_, i64>(6),
                "closed_ms": r.get::<_, Option<i64>>(7), "close_reason": r.get::<_, Option<String>>(8), "current_page": r.get::<_, Option<String>>(9),
                "entry_point": r.get::<_, Option<String>>(10), "rating": r.get::<_, Option<i64>>(11), "rating_comment": r.get::<_, Option<String>>(12),
                "rated_ms": r.get::<_, Option<i64>>(13), "tags": tags, "notes": notes,
            }));
        }
        let messages: Vec<serde_json::Value> = self
            .query("SELECT conversation, seq, session, sender, body, at_ms FROM messages WHERE conversation = ANY($1) ORDER BY conversation, seq", &[&ids])?
            .iter()
            .map(|r| {
                json!({ "conversation": r.get::<_, String>(0), "seq": r.get::<_, i64>(1), "session": r.get::<_, Option<String>>(2),
                        "sender": col(r.get(3)), "body": col(r.get(4)), "at_ms": r.get::<_, i64>(5) })
            })
            .collect();
        let attachments: Vec<serde_json::Value> = self
            .query(
                "SELECT id, conversation, mime, name, size, created_ms, blob_key, sha256, CASE WHEN blob_key IS NULL THEN data END
                 FROM attachments WHERE conversation = ANY($1)",
                &[&ids],
            )?
            .iter()
            .map(|r| {
                let (bytes, sha256) = super::Attachment::bytes_from_columns(r.get(6), r.get(7), r.get(8));
                let mut a = json!({ "id": r.get::<_, String>(0), "conversation": r.get::<_, String>(1), "mime": r.get::<_, String>(2),
                                    "name": r.get::<_, String>(3), "size": r.get::<_, i64>(4), "created_ms": r.get::<_, i64>(5), "sha256": sha256 });
                match bytes {
                    super::AttachmentBytes::Blob(key) => a["blob_key"] = json!(key),
                    super::AttachmentBytes::Inline(data) => a["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&data)),
                }
                a
            })
            .collect();
        let blocks: Vec<serde_json::Value> = self
            .query("SELECT until_ms, reason, agent, created_ms FROM blocks WHERE channel = $1 AND user_key = $2", &[&channel, &user_key])?
            .iter()
            .map(|r| json!({ "until_ms": r.get::<_, i64>(0), "reason": r.get::<_, String>(1), "agent": r.get::<_, String>(2), "created_ms": r.get::<_, i64>(3) }))
            .collect();
        Ok(json!({
            "channel": channel, "user_key": user_key, "conversations": conversations, "sessions": sessions,
            "messages": messages, "attachments": attachments, "blocks": blocks,
        }))
    }

    fn user_erase(&mut self, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<super::EraseCounts> {
        // One transaction (the caller's); the conversations are locked first so no write lands between.
        let ids: Vec<String> = self
            .query("SELECT id FROM conversations WHERE channel = $1 AND user_key = $2 ORDER BY id FOR UPDATE", &[&channel, &user_key])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let messages = self.execute("DELETE FROM messages WHERE conversation = ANY($1)", &[&ids])?;
        let deleted = self.query("DELETE FROM attachments WHERE conversation = ANY($1) RETURNING blob_key", &[&ids])?;
        let attachments = deleted.len() as u64;
        let blobs = deleted.iter().filter_map(|r| r.get::<_, Option<String>>(0)).collect();
        self.execute("DELETE FROM handoffs WHERE handle IN (SELECT handle FROM handles WHERE conversation = ANY($1))", &[&ids])?;
        self.execute("DELETE FROM handles WHERE conversation = ANY($1)", &[&ids])?;
        self.execute("DELETE FROM conversations WHERE id = ANY($1)", &[&ids])?;
        for table in ["session_tags", "session_notes"] {
            self.execute(&format!("DELETE FROM {table} WHERE session IN (SELECT id FROM sessions WHERE channel = $1 AND user_key = $2)"), &[&channel, &user_key])?;
        }
        self.execute("DELETE FROM blocks WHERE channel = $1 AND user_key = $2", &[&channel, &user_key])?;
        // The sessions stay as counts (reports): one new key that links to nothing, no context.
        let empty = serde_json::to_string(&LaunchContext::default())?;
        let anonymous = format!("erased:{}", random_id("u"));
        let sessions = self.execute(
            "UPDATE sessions SET user_key = $3, context = $4, current_page = NULL, rating_comment = NULL,
                 state = 'closed', closed_ms = COALESCE(closed_ms, $5), close_reason = COALESCE(close_reason, 'visitor_left')
             WHERE channel = $1 AND user_key = $2",
            &[&channel, &user_key, &anonymous, &empty, &ms(now_ms)],
        )?;
        Ok(super::EraseCounts { sessions, messages, attachments, blobs })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use postgres::Client;

    use super::*;

    /// A throwaway server for this test process (tests/pg-temp.sh; it stops when the process
    /// ends), or `None` where PostgreSQL is not installed.
    pub(crate) fn server() -> Option<&'static str> {
        static URL: OnceLock<Option<String>> = OnceLock::new();
        URL.get_or_init(|| {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg-temp.sh");
            let dir = std::env::temp_dir().join(format!("consult-pg-{}", std::process::id()));
            let port = 20_000 + (std::process::id() % 20_000) as u16;
            let out = std::process::Command::new("sh")
                .arg(script)
                .args(["start"])
                .arg(&dir)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .output()
                .ok()?;
            if !out.status.success() {
                eprintln!("PostgreSQL unavailable: {}", String::from_utf8_lossy(&out.stderr));
                return None;
            }
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .as_deref()
    }

    /// A fresh, empty database on the test server.
    pub(crate) fn fresh_database() -> Option<String> {
        let url = server()?;
        let name = format!("t_{}", crate::identity::random_token(9).to_ascii_lowercase().replace(['-', '_'], "x"));
        let mut admin = Client::connect(url, NoTls).expect("the test server answers");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Some(format!("{}/{name}", url.rsplit_once('/').unwrap().0))
    }

    fn store() -> Option<Box<dyn Store>> {
        Some(Box::new(PostgresStore::open(&fresh_database()?).unwrap()))
    }

    crate::store::conformance::conformance_suite!(store());

    #[test]
    fn migrations_are_safe_when_nodes_start_together() {
        let Some(url) = fresh_database() else { return };
        let starts: Vec<_> = (0..4).map(|_| { let url = url.clone(); std::thread::spawn(move || PostgresStore::open(&url).map(drop)) }).collect();
        for s in starts {
            s.join().unwrap().unwrap();
        }
        let mut c = Client::connect(&url, NoTls).unwrap();
        let n: i64 = c.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).unwrap().get(0);
        assert_eq!(n, MIGRATIONS.len() as i64);
    }

    /// A node's workers run rules at once, each on its own pooled connection (four jobs that each
    /// wait for the other three finish only if four run together), and a rule that fails after
    /// writing leaves nothing: it is undone to its savepoint, its seq is not taken.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pooled_workers_run_rules_together_and_a_failed_rule_leaves_nothing() {
        let Some(url) = std::thread::spawn(fresh_database).join().unwrap() else { return };
        let db = super::super::Db::open_postgres(&url, 4).unwrap();
        let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let (db, waiting) = (db.clone(), waiting.clone());
                tokio::spawn(async move {
                    db.call(move |s| {
                        waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let deadline = std::time::Instant::now() + Duration::from_secs(10);
                        while waiting.load(std::sync::atomic::Ordering::SeqCst) < 4 {
                            assert!(std::time::Instant::now() < deadline, "the jobs did not run at once");
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        s.agent_loads()
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let handle = db.call(|s| s.launch("shop", "u1", &LaunchContext::default(), 1)).await.unwrap();
        let conv = db.call(move |s| s.resolve_handle(&handle, 2)).await.unwrap().unwrap().id;
        let c = conv.clone();
        let failed = db
            .call_rule(move |s| {
                s.visitor_write(&c, "x", &Body::Text { text: "undone".into() }, &OpenAs::Queued(None), 3).map_err(|e| e.to_string())?;
                Err::<(), String>("refused after writing".into())
            })
            .await
            .unwrap();
        assert_eq!(failed, Err("refused after writing".to_string()));
        let c = conv.clone();
        let kept = db.call(move |s| s.visitor_write(&c, "y", &Body::Text { text: "kept".into() }, &OpenAs::Queued(None), 4)).await.unwrap();
        assert_eq!(kept.message.seq, 1, "the failed rule's seq was not taken");
        let stored = db.call(move |s| s.messages_after(&conv, 0, 10)).await.unwrap();
        assert_eq!(stored.iter().map(|m| m.client_id.clone().unwrap_or_default()).collect::<Vec<_>>(), ["y"]);
    }

    /// Two workers whose jobs wait on each other's conversation rows: PostgreSQL fails one
    /// statement, that job is undone alone and answered busy (retryable); the other job stands.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadlock_between_workers_costs_one_job_a_busy_answer_and_nothing_else() {
        let Some(url) = std::thread::spawn(fresh_database).join().unwrap() else { return };
        let db = super::super::Db::open_postgres(&url, 2).unwrap();
        let mut convs = Vec::new();
        for user in ["u1", "u2"] {
            let handle = db.call(move |s| s.launch("shop", user, &LaunchContext::default(), 1)).await.unwrap();
            convs.push(db.call(move |s| s.resolve_handle(&handle, 2)).await.unwrap().unwrap().id);
        }
        let crossing = |first: String, second: String, id: &'static str| {
            let db = db.clone();
            tokio::spawn(async move {
                db.call(move |s| {
                    let text = Body::Text { text: id.into() };
                    s.visitor_write(&first, id, &text, &OpenAs::Queued(None), 3)?;
                    // Both jobs hold their first row before either asks for its second.
                    std::thread::sleep(Duration::from_millis(300));
                    s.visitor_write(&second, id, &text, &OpenAs::Queued(None), 3)
                })
                .await
            })
        };
        let a = crossing(convs[0].clone(), convs[1].clone(), "a");
        let b = crossing(convs[1].clone(), convs[0].clone(), "b");
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (won, lost) = match (&a, &b) {
            (Ok(_), Err(e)) => ("a", e),
            (Err(e), Ok(_)) => ("b", e),
            other => panic!("one job should lose the deadlock: {other:?}"),
        };
        assert!(matches!(lost, StoreError::Busy), "{lost:?}");
        for conv in convs {
            let stored = db.call(move |s| s.messages_after(&conv, 0, 10)).await.unwrap();
            let ids: Vec<_> = stored.iter().map(|m| m.client_id.clone().unwrap_or_default()).collect();
            assert_eq!(ids, [won], "only the winner's writes stand, once in each conversation");
        }
    }

    /// Two nodes (four workers each, each on its own connection) writing one conversation at once, in
    /// batches: one open session, every seq once, every client id once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_racing_on_one_conversation_keep_every_rule() {
        // The sync client may not be made on a runtime thread.
        let Some(url) = std::thread::spawn(fresh_database).join().unwrap() else { return };
        let node = || super::super::Db::open_postgres(&url, 4).unwrap();
        let nodes = [node(), node()];
        let handle = nodes[0].call(|s| s.launch("shop", "member-key", &LaunchContext::default(), 1)).await.unwrap();
        let conv = nodes[1].call(move |s| s.resolve_handle(&handle, 2)).await.unwrap().unwrap().id;
        let writes = (0..200).map(|i| {
            let (db, conv) = (nodes[i % 2].clone(), conv.clone());
            // Every client id sent twice, once through each node.
            let id = format!("c{}", i / 2);
            tokio::spawn(async move { db.call(move |s| s.visitor_write(&conv, &id, &Body::Text { text: id.clone() }, &OpenAs::Queued(None), 3)).await })
        });
        let mut results = Vec::new();
        for w in writes.collect::<Vec<_>>() {
            results.push(w.await.unwrap().unwrap());
        }
        let sessions: std::collections::HashSet<_> = results.iter().map(|w| w.session.id.clone()).collect();
        assert_eq!(sessions.len(), 1, "one open session");
        let c = conv.clone();
        let stored = nodes[0].call(move |s| s.messages_after(&c, 0, 1000)).await.unwrap();
        assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>(), "gap-free, each client id once");
        for pair in results.chunks(2) {
            assert_eq!(pair[0].message.seq, pair[1].message.seq, "a retry through the other node gets the same seq");
        }
    }
}
