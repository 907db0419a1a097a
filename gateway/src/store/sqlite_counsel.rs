//! SQLite side of the Counsel API: API keys, the paging of sessions, bot replies, webhook
//! endpoints and the delivery outbox. Plain SQL (no SQLite-only functions) so the PostgreSQL
//! store can take the same statements with `$n` placeholders.

use consult_sdk::counsel::{DeliveryInfo, Scope};
use consult_sdk::protocol::{Body, ChatMessage, Receipts, SessionState, Sender};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::counsel_rows::{ApiKeyRow, DeliveryOutcome, DueDelivery, EndpointRow};
use super::sqlite::{SESSION_COLUMNS, append, existing_message, session_by_id, session_row, state_str};
use super::{AgentWriteError, SessionRow, StoreResult};

/// The Counsel API's tables.
pub const MIGRATION: &str = r#"
CREATE TABLE api_keys(id TEXT PRIMARY KEY, channel TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
    agent TEXT, hash BLOB NOT NULL, created_ms INTEGER NOT NULL, last_used_ms INTEGER, revoked_ms INTEGER);
CREATE INDEX api_keys_channel ON api_keys(channel);
CREATE TABLE webhook_endpoints(id TEXT PRIMARY KEY, channel TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
    events TEXT NOT NULL, source TEXT NOT NULL, paused_ms INTEGER, paused_reason TEXT, created_ms INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE webhook_deliveries(n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, endpoint TEXT NOT NULL,
    channel TEXT NOT NULL, session TEXT NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL, last_status INTEGER,
    last_error TEXT, created_ms INTEGER NOT NULL, done_ms INTEGER);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_ms);
CREATE INDEX webhook_deliveries_line ON webhook_deliveries(endpoint, session, status, n);
"#;

/// Send results (how far each side has got with a conversation, see `Receipts`) and the
/// channels switched on or off at runtime.
pub const RECEIPTS_AND_SWITCHES_MIGRATION: &str = r#"
CREATE TABLE channel_switches(channel TEXT PRIMARY KEY, enabled INTEGER NOT NULL, by_actor TEXT NOT NULL, at_ms INTEGER NOT NULL);
ALTER TABLE conversations ADD COLUMN visitor_delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN visitor_read_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN agent_read_seq INTEGER NOT NULL DEFAULT 0;
"#;

/// Raises `mark` to `seq` (capped at `last_seq`); the three marks, or `None` when nothing rose.
/// (SQLite's two-argument `MIN`/`MAX` are PostgreSQL's `LEAST`/`GREATEST`.)
pub(super) fn raise_receipt(conn: &Connection, conversation: &str, mark: super::ReceiptMark, seq: u64) -> StoreResult<Option<Receipts>> {
    use super::ReceiptMark::*;
    let sql = match mark {
        VisitorDelivered => "UPDATE conversations SET visitor_delivered_seq = MIN(?2, last_seq) \
            WHERE id = ?1 AND visitor_delivered_seq < MIN(?2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
        VisitorRead => "UPDATE conversations SET visitor_read_seq = MIN(?2, last_seq), \
            visitor_delivered_seq = MAX(visitor_delivered_seq, MIN(?2, last_seq)) \
            WHERE id = ?1 AND visitor_read_seq < MIN(?2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
        AgentRead => "UPDATE conversations SET agent_read_seq = MIN(?2, last_seq) \
            WHERE id = ?1 AND agent_read_seq < MIN(?2, last_seq) RETURNING visitor_delivered_seq, visitor_read_seq, agent_read_seq",
    };
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    Ok(conn.prepare_cached(sql)?.query_row(params![conversation, seq], receipts_row).optional()?)
}

pub(super) fn receipts(conn: &Connection, conversation: &str) -> StoreResult<Receipts> {
    let sql = "SELECT visitor_delivered_seq, visitor_read_seq, agent_read_seq FROM conversations WHERE id = ?1";
    Ok(conn.prepare_cached(sql)?.query_row([conversation], receipts_row).optional()?.unwrap_or_default())
}

pub(super) fn set_channel_enabled(conn: &Connection, channel: &str, enabled: bool, by: &str, now_ms: u64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO channel_switches(channel, enabled, by_actor, at_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(channel) DO UPDATE SET enabled = excluded.enabled, by_actor = excluded.by_actor, at_ms = excluded.at_ms",
    )?
    .execute(params![channel, i64::from(enabled), by, now_ms as i64])?;
    Ok(())
}

pub(super) fn channel_switches(conn: &Connection) -> StoreResult<Vec<(String, bool)>> {
    let mut stmt = conn.prepare_cached("SELECT channel, enabled FROM channel_switches")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Settings an admin changes at runtime (canned answers; which of them the database now owns).
pub const RUNTIME_MIGRATION: &str = r#"
CREATE TABLE canned_answers(pos INTEGER PRIMARY KEY, shortcut TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
CREATE TABLE runtime_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
"#;

/// Agents an admin disabled or gave a new password.
pub const ACCOUNTS_MIGRATION: &str = r#"
CREATE TABLE agent_accounts(agent TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, password_hash TEXT);
"#;

/// Runtime changes with their versions (agents, hours, menus, guidance; versions of the rest).
pub const RUNTIME_CONFIG_MIGRATION: &str = r#"
CREATE TABLE runtime_config(name TEXT PRIMARY KEY, version INTEGER NOT NULL, value TEXT NOT NULL,
    by_actor TEXT NOT NULL, at_ms INTEGER NOT NULL);
"#;

pub(super) fn runtime_list(conn: &Connection, prefix: &str) -> StoreResult<Vec<super::RuntimeEntry>> {
    // A range, not LIKE: '_' and '%' are ordinary characters in ids.
    let mut stmt = conn.prepare_cached("SELECT name, version, value FROM runtime_config WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name")?;
    let rows = stmt.query_map([prefix], |r| Ok(super::RuntimeEntry { name: r.get(0)?, version: r.get::<_, i64>(1)? as u64, value: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn runtime_put(conn: &Connection, name: &str, expected: u64, value: &str, by: &str, now_ms: u64) -> StoreResult<Option<u64>> {
    let n = if expected == 0 {
        conn.prepare_cached("INSERT INTO runtime_config(name, version, value, by_actor, at_ms) VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING")?
            .execute(params![name, value, by, now_ms as i64])?
    } else {
        conn.prepare_cached("UPDATE runtime_config SET version = version + 1, value = ?2, by_actor = ?3, at_ms = ?4 WHERE name = ?1 AND version = ?5")?
            .execute(params![name, value, by, now_ms as i64, expected as i64])?
    };
    Ok((n == 1).then_some(expected + 1))
}

pub(super) fn agent_account(conn: &Connection, agent: &str) -> StoreResult<super::AgentAccount> {
    Ok(conn
        .prepare_cached("SELECT disabled, password_hash FROM agent_accounts WHERE agent = ?1")?
        .query_row([agent], |r| Ok(super::AgentAccount { disabled: r.get::<_, i64>(0)? != 0, password_hash: r.get(1)? }))
        .optional()?
        .unwrap_or_default())
}

pub(super) fn agent_accounts(conn: &Connection) -> StoreResult<Vec<(String, super::AgentAccount)>> {
    let mut stmt = conn.prepare_cached("SELECT agent, disabled, password_hash FROM agent_accounts ORDER BY agent")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, super::AgentAccount { disabled: r.get::<_, i64>(1)? != 0, password_hash: r.get(2)? })))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn set_agent_account(conn: &Connection, agent: &str, disabled: Option<bool>, password_hash: Option<&str>) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO agent_accounts(agent, disabled, password_hash) VALUES (?1, COALESCE(?2, 0), ?3)
         ON CONFLICT(agent) DO UPDATE SET disabled = COALESCE(?2, disabled), password_hash = COALESCE(?3, password_hash)",
    )?
    .execute(params![agent, disabled.map(i64::from), password_hash])?;
    Ok(())
}

pub(super) fn agent_tokens_revoke(conn: &Connection, agent: &str) -> StoreResult<Vec<[u8; 32]>> {
    let mut stmt = conn.prepare_cached("DELETE FROM agent_tokens WHERE agent = ?1 RETURNING token_sha256")?;
    let rows = stmt.query_map([agent], |r| r.get::<_, Vec<u8>>(0))?;
    Ok(rows.filter_map(|h| h.ok().and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())).collect())
}

pub(super) fn canned_answers(conn: &Connection) -> StoreResult<Option<Vec<consult_sdk::protocol::CannedAnswer>>> {
    let managed = conn.prepare_cached("SELECT 1 FROM runtime_settings WHERE name = 'canned'")?.exists([])?;
    if !managed {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached("SELECT shortcut, text FROM canned_answers ORDER BY pos")?;
    let rows = stmt.query_map([], |r| Ok(consult_sdk::protocol::CannedAnswer { shortcut: r.get(0)?, text: r.get(1)? }))?;
    Ok(Some(rows.collect::<Result<_, _>>()?))
}

pub(super) fn set_canned_answers(conn: &mut Connection, answers: &[consult_sdk::protocol::CannedAnswer]) -> StoreResult<()> {
    let tx = conn.savepoint()?;
    tx.prepare_cached("DELETE FROM canned_answers")?.execute([])?;
    for (i, a) in answers.iter().enumerate() {
        tx.prepare_cached("INSERT INTO canned_answers(pos, shortcut, text) VALUES (?1, ?2, ?3)")?.execute(params![i as i64, a.shortcut, a.text])?;
    }
    tx.prepare_cached("INSERT INTO runtime_settings(name, value) VALUES ('canned', 'db') ON CONFLICT(name) DO NOTHING")?.execute([])?;
    tx.commit()?;
    Ok(())
}

fn receipts_row(r: &Row<'_>) -> rusqlite::Result<Receipts> {
    Ok(Receipts {
        visitor_delivered_seq: r.get::<_, i64>(0)? as u64,
        visitor_read_seq: r.get::<_, i64>(1)? as u64,
        agent_read_seq: r.get::<_, i64>(2)? as u64,
    })
}

fn scopes_str(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    let scopes: String = r.get(3)?;
    let hash: Vec<u8> = r.get(5)?;
    Ok(ApiKeyRow {
        id: r.get(0)?,
        channel: r.get(1)?,
        name: r.get(2)?,
        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
        agent: r.get(4)?,
        hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0; 32]),
        created_ms: r.get::<_, i64>(6)? as u64,
        last_used_ms: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        revoked_ms: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
    })
}

const KEY_COLUMNS: &str = "id, channel, name, scopes, agent, hash, created_ms, last_used_ms, revoked_ms";

pub(super) fn api_key_put(conn: &Connection, k: &ApiKeyRow) -> StoreResult<()> {
    conn.prepare_cached(&format!("INSERT INTO api_keys({KEY_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"))?.execute(params![
        k.id,
        k.channel,
        k.name,
        scopes_str(&k.scopes),
        k.agent,
        &k.hash[..],
        k.created_ms as i64,
        k.last_used_ms.map(|v| v as i64),
        k.revoked_ms.map(|v| v as i64)
    ])?;
    Ok(())
}

pub(super) fn api_key_get(conn: &Connection, id: &str) -> StoreResult<Option<ApiKeyRow>> {
    Ok(conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"))?.query_row([id], key_row).optional()?)
}

pub(super) fn api_keys(conn: &Connection, channel: &str) -> StoreResult<Vec<ApiKeyRow>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE channel = ?1 ORDER BY created_ms DESC, id"))?;
    Ok(stmt.query_map([channel], key_row)?.collect::<Result<_, _>>()?)
}

pub(super) fn api_key_revoke(conn: &Connection, channel: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("UPDATE api_keys SET revoked_ms = ?3 WHERE channel = ?1 AND id = ?2 AND revoked_ms IS NULL")?
        .execute(params![channel, id, now_ms as i64])?;
    Ok(n > 0)
}

pub(super) fn api_key_used(conn: &Connection, id: &str, now_ms: u64) -> StoreResult<()> {
    // At most one write a minute per key: a busy integration doesn't write on every call.
    conn.prepare_cached("UPDATE api_keys SET last_used_ms = ?2 WHERE id = ?1 AND (last_used_ms IS NULL OR last_used_ms < ?2 - 60000)")?
        .execute(params![id, now_ms as i64])?;
    Ok(())
}

pub(super) fn counsel_sessions(
    conn: &Connection,
    channel: &str,
    state: Option<SessionState>,
    after: Option<(u64, &str)>,
    limit: u32,
) -> StoreResult<Vec<SessionRow>> {
    let (after_ms, after_id) = after.map_or((-1, ""), |(ms, id)| (ms as i64, id));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.channel = ?1 AND (?2 = '' OR s.state = ?2)
         AND (s.opened_ms > ?3 OR (s.opened_ms = ?3 AND s.id > ?4)) ORDER BY s.opened_ms, s.id LIMIT ?5"
    ))?;
    let state = state.map(state_str).unwrap_or("");
    Ok(stmt.query_map(params![channel, state, after_ms, after_id, limit], session_row)?.collect::<Result<_, _>>()?)
}

pub(super) fn bot_write(
    conn: &mut Connection,
    session: &str,
    client_id: &str,
    body: &Body,
    now_ms: u64,
) -> StoreResult<Result<(SessionRow, ChatMessage, bool), AgentWriteError>> {
    let tx = conn.savepoint()?;
    let Some(row) = session_by_id(&tx, session)? else { return Ok(Err(AgentWriteError::UnknownSession)) };
    if let Some((message, _)) = existing_message(&tx, &row.conversation, "bot", client_id)? {
        return Ok(Ok((row, message, true)));
    }
    if row.state != SessionState::Bot {
        return Ok(Err(if row.is_open() { AgentWriteError::NotAssigned } else { AgentWriteError::NotOpen }));
    }
    let message = append(&tx, &row.conversation, Some(session), Some("bot"), Some(client_id), &Sender::Bot, body, now_ms)?;
    tx.commit()?;
    Ok(Ok((row, message, false)))
}

fn endpoint_row(r: &Row<'_>) -> rusqlite::Result<EndpointRow> {
    let events: String = r.get(4)?;
    Ok(EndpointRow {
        id: r.get(0)?,
        channel: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        events: events.split(',').filter(|e| !e.is_empty()).map(Into::into).collect(),
        source: r.get(5)?,
        paused_ms: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        paused_reason: r.get(7)?,
        pending: r.get::<_, i64>(8)? as u64,
        failed: r.get::<_, i64>(9)? as u64,
    })
}

pub(super) fn webhook_endpoint_put(conn: &Connection, e: &EndpointRow, now_ms: u64) -> StoreResult<()> {
    // Paused state and history stay across a restart that re-reads the file.
    conn.prepare_cached(
        "INSERT INTO webhook_endpoints(id, channel, url, secret, events, source, created_ms) VALUES (?1,?2,?3,?4,?5,?6,?7)
         ON CONFLICT(id) DO UPDATE SET channel = excluded.channel, url = excluded.url, secret = excluded.secret,
            events = excluded.events, source = excluded.source, deleted = 0",
    )?
    .execute(params![e.id, e.channel, e.url, e.secret, e.events.join(","), e.source, now_ms as i64])?;
    Ok(())
}

pub(super) fn webhook_endpoints(conn: &Connection, channel: Option<&str>) -> StoreResult<Vec<EndpointRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.channel, e.url, e.secret, e.events, e.source, e.paused_ms, e.paused_reason,
            (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.id AND d.status = 'pending'),
            (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.id AND d.status = 'failed')
         FROM webhook_endpoints e WHERE e.deleted = 0 AND (?1 = '' OR e.channel = ?1) ORDER BY e.id",
    )?;
    Ok(stmt.query_map([channel.unwrap_or("")], endpoint_row)?.collect::<Result<_, _>>()?)
}

pub(super) fn webhook_endpoint_delete(conn: &mut Connection, channel: &str, id: &str) -> StoreResult<bool> {
    let tx = conn.savepoint()?;
    let n = tx.prepare_cached("UPDATE webhook_endpoints SET deleted = 1 WHERE channel = ?1 AND id = ?2 AND deleted = 0")?.execute(params![channel, id])?;
    tx.prepare_cached("DELETE FROM webhook_deliveries WHERE endpoint = ?1 AND status = 'pending'")?.execute([id])?;
    tx.commit()?;
    Ok(n > 0)
}

pub(super) fn webhook_emit(
    conn: &Connection,
    channel: &str,
    session: Option<&str>,
    event_type: &str,
    payload: &str,
    id_base: &str,
    now_ms: u64,
) -> StoreResult<u64> {
    // One row per endpoint of the channel that wants this type; none when nobody listens.
    let n = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries(id, endpoint, channel, session, event_type, payload, status, next_ms, created_ms)
             SELECT ?1 || '_' || e.id, e.id, ?2, ?3, ?4, ?5, 'pending', ?6, ?6 FROM webhook_endpoints e
             WHERE e.channel = ?2 AND e.deleted = 0 AND (e.events = '*' OR (',' || e.events || ',') LIKE ('%,' || ?4 || ',%'))",
        )?
        .execute(params![id_base, channel, session.unwrap_or(""), event_type, payload, now_ms as i64])?;
    Ok(n as u64)
}

pub(super) fn webhook_due(conn: &Connection, now_ms: u64, limit: u32) -> StoreResult<Vec<DueDelivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.n, d.id, d.endpoint, e.url, e.secret, d.payload, d.attempts, d.created_ms
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint
         WHERE d.status = 'pending' AND d.next_ms <= ?1 AND e.paused_ms IS NULL AND e.deleted = 0
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND p.session = d.session
                           AND p.status = 'pending' AND p.n < d.n)
         ORDER BY d.n LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms as i64, limit], |r| {
        Ok(DueDelivery {
            n: r.get(0)?,
            id: r.get(1)?,
            endpoint: r.get(2)?,
            url: r.get(3)?,
            secret: r.get(4)?,
            payload: r.get(5)?,
            attempts: r.get::<_, i64>(6)? as u32,
            created_ms: r.get::<_, i64>(7)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn webhook_outcome(conn: &Connection, n: i64, outcome: &DeliveryOutcome, now_ms: u64) -> StoreResult<()> {
    match outcome {
        DeliveryOutcome::Delivered => conn
            .prepare_cached("UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = NULL, last_error = NULL, done_ms = ?2 WHERE n = ?1 AND status = 'pending'")?
            .execute(params![n, now_ms as i64])?,
        DeliveryOutcome::Retry { next_ms, status, error } => conn
            .prepare_cached("UPDATE webhook_deliveries SET attempts = attempts + 1, next_ms = ?2, last_status = ?3, last_error = ?4 WHERE n = ?1 AND status = 'pending'")?
            .execute(params![n, *next_ms as i64, status.map(i64::from), error])?,
        DeliveryOutcome::GiveUp { status, error } => conn
            .prepare_cached("UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = ?3, last_error = ?4, done_ms = ?2 WHERE n = ?1 AND status = 'pending'")?
            .execute(params![n, now_ms as i64, status.map(i64::from), error])?,
    };
    Ok(())
}

pub(super) fn webhook_pause(conn: &Connection, endpoint: &str, reason: &str, now_ms: u64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE webhook_endpoints SET paused_ms = ?2, paused_reason = ?3 WHERE id = ?1 AND paused_ms IS NULL")?
        .execute(params![endpoint, now_ms as i64, reason])?;
    Ok(())
}

pub(super) fn webhook_deliveries(conn: &Connection, channel: &str, endpoint: &str, status: Option<&str>, limit: u32) -> StoreResult<Vec<DeliveryInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, event_type, session, status, attempts, last_status, last_error, created_ms, next_ms FROM webhook_deliveries
         WHERE channel = ?1 AND endpoint = ?2 AND (?3 = '' OR status = ?3) ORDER BY n LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![channel, endpoint, status.unwrap_or(""), limit], |r| {
        let session: String = r.get(2)?;
        Ok(DeliveryInfo {
            id: r.get(0)?,
            event_type: r.get(1)?,
            session: (!session.is_empty()).then_some(session),
            status: r.get(3)?,
            attempts: r.get::<_, i64>(4)? as u32,
            last_status: r.get::<_, Option<i64>>(5)?.map(|v| v as u16),
            last_error: r.get(6)?,
            created_ms: r.get::<_, i64>(7)? as u64,
            next_ms: r.get::<_, i64>(8)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn webhook_replay(conn: &mut Connection, channel: &str, endpoint: &str, now_ms: u64) -> StoreResult<Option<u64>> {
    let tx = conn.savepoint()?;
    let found = tx
        .prepare_cached("UPDATE webhook_endpoints SET paused_ms = NULL, paused_reason = NULL WHERE channel = ?1 AND id = ?2 AND deleted = 0")?
        .execute(params![channel, endpoint])?;
    if found == 0 {
        return Ok(None);
    }
    // Given-up deliveries go back in line (same ids); pending ones are due at once.
    let n = tx
        .prepare_cached("UPDATE webhook_deliveries SET status = 'pending', next_ms = ?2, created_ms = ?2, done_ms = NULL WHERE endpoint = ?1 AND status = 'failed'")?
        .execute(params![endpoint, now_ms as i64])?;
    tx.prepare_cached("UPDATE webhook_deliveries SET next_ms = ?2 WHERE endpoint = ?1 AND status = 'pending' AND next_ms > ?2")?
        .execute(params![endpoint, now_ms as i64])?;
    tx.commit()?;
    Ok(Some(n as u64))
}
