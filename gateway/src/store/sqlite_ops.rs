//! The SQLite side of [`super::records`]: milestones, ratings, notes, reports, the audit log,
//! export and erasure. Plain SQL that PostgreSQL also reads (no SQLite-only functions besides
//! `json_each` for channel lists, as the rest of the store).

use base64::Engine as _;
use consult_sdk::protocol::{NoteInfo, RatingInfo};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::{AuditEntry, AuditFilter, EraseCounts, LaunchContext, ReportRow, SessionMark, StoreResult};

/// The migration these tables and columns need (appended to the store's list).
pub(super) const MIGRATION: &str = r#"
ALTER TABLE sessions ADD COLUMN entry_point TEXT;
ALTER TABLE sessions ADD COLUMN queued_ms INTEGER;
ALTER TABLE sessions ADD COLUMN assigned_ms INTEGER;
ALTER TABLE sessions ADD COLUMN first_reply_ms INTEGER;
ALTER TABLE sessions ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN rating INTEGER;
ALTER TABLE sessions ADD COLUMN rating_comment TEXT;
ALTER TABLE sessions ADD COLUMN rated_ms INTEGER;
CREATE INDEX sessions_opened ON sessions(channel, opened_ms);
CREATE TABLE session_notes(session TEXT NOT NULL, pos INTEGER NOT NULL, agent TEXT NOT NULL, agent_name TEXT NOT NULL,
    text TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY(session, pos));
CREATE TABLE audit_log(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    channel TEXT, target TEXT, detail TEXT NOT NULL);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.map(|x| x as u64)
}

pub(super) fn mark_session(conn: &Connection, session: &str, mark: &SessionMark, now_ms: u64) -> StoreResult<()> {
    let now = now_ms as i64;
    match mark {
        SessionMark::Opened { entry } => conn
            .prepare_cached("UPDATE sessions SET entry_point = COALESCE(entry_point, ?2) WHERE id = ?1")?
            .execute(params![session, entry])?,
        SessionMark::Queued => conn
            .prepare_cached("UPDATE sessions SET queued_ms = COALESCE(queued_ms, ?2) WHERE id = ?1")?
            .execute(params![session, now])?,
        SessionMark::Assigned => conn
            .prepare_cached("UPDATE sessions SET assigned_ms = COALESCE(assigned_ms, ?2) WHERE id = ?1")?
            .execute(params![session, now])?,
        SessionMark::FirstReply => conn
            .prepare_cached("UPDATE sessions SET first_reply_ms = ?2 WHERE id = ?1 AND first_reply_ms IS NULL")?
            .execute(params![session, now])?,
        SessionMark::Transfer => {
            conn.prepare_cached("UPDATE sessions SET transfers = transfers + 1 WHERE id = ?1")?.execute([session])?
        }
    };
    Ok(())
}

pub(super) fn rate_session(conn: &Connection, session: &str, score: u8, comment: Option<&str>, now_ms: u64) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("UPDATE sessions SET rating = ?2, rating_comment = ?3, rated_ms = ?4 WHERE id = ?1 AND rating IS NULL")?
        .execute(params![session, i64::from(score), comment, now_ms as i64])?;
    Ok(n == 1)
}

pub(super) fn rating(conn: &Connection, session: &str) -> StoreResult<Option<RatingInfo>> {
    let row = conn
        .prepare_cached("SELECT rating, rating_comment, rated_ms FROM sessions WHERE id = ?1 AND rating IS NOT NULL")?
        .query_row([session], |r| {
            Ok(RatingInfo { score: r.get::<_, i64>(0)? as u8, comment: r.get(1)?, at_ms: r.get::<_, i64>(2)? as u64 })
        })
        .optional()?;
    Ok(row)
}

pub(super) fn add_note(conn: &Connection, session: &str, agent: &str, agent_name: &str, text: &str, now_ms: u64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO session_notes(session, pos, agent, agent_name, text, at_ms)
         VALUES (?1, (SELECT COALESCE(MAX(pos), 0) + 1 FROM session_notes WHERE session = ?1), ?2, ?3, ?4, ?5)",
    )?
    .execute(params![session, agent, agent_name, text, now_ms as i64])?;
    Ok(())
}

pub(super) fn notes(conn: &Connection, session: &str) -> StoreResult<Vec<NoteInfo>> {
    let mut stmt = conn.prepare_cached("SELECT agent, agent_name, text, at_ms FROM session_notes WHERE session = ?1 ORDER BY pos")?;
    let rows = stmt.query_map([session], |r| {
        Ok(NoteInfo { agent: r.get(0)?, agent_name: r.get(1)?, text: r.get(2)?, at_ms: r.get::<_, i64>(3)? as u64 })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn report_rows(conn: &Connection, channels: &[String], from_ms: u64, to_ms: u64) -> StoreResult<Vec<ReportRow>> {
    let channels = serde_json::to_string(channels)?;
    let mut stmt = conn.prepare_cached(
        "SELECT channel, entry_point, category, agent, opened_ms, queued_ms, assigned_ms, first_reply_ms, closed_ms, transfers, rating
         FROM sessions WHERE channel IN (SELECT value FROM json_each(?1)) AND opened_ms >= ?2 AND opened_ms < ?3
         ORDER BY opened_ms",
    )?;
    let rows = stmt.query_map(params![channels, from_ms as i64, to_ms as i64], |r| {
        Ok(ReportRow {
            channel: r.get(0)?,
            entry: r.get(1)?,
            category: r.get(2)?,
            agent: r.get(3)?,
            opened_ms: r.get::<_, i64>(4)? as u64,
            queued_ms: opt_u64(r.get(5)?),
            assigned_ms: opt_u64(r.get(6)?),
            first_reply_ms: opt_u64(r.get(7)?),
            closed_ms: opt_u64(r.get(8)?),
            transfers: r.get::<_, i64>(9)? as u32,
            rating: r.get::<_, Option<i64>>(10)?.map(|x| x as u8),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn recent_waits(conn: &Connection, channel: &str, since_ms: u64, limit: u32) -> StoreResult<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT assigned_ms - queued_ms FROM sessions WHERE channel = ?1 AND assigned_ms >= ?2 AND queued_ms IS NOT NULL
         ORDER BY assigned_ms DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![channel, since_ms as i64, limit], |r| r.get::<_, i64>(0))?;
    Ok(rows.map(|r| r.map(|x| x.max(0) as u64)).collect::<Result<_, _>>()?)
}

pub(super) fn audit_append(conn: &Connection, e: &AuditEntry) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO audit_log(at_ms, actor, action, channel, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![e.at_ms as i64, e.actor, e.action, e.channel, e.target, e.detail])?;
    Ok(())
}

pub(super) fn audit_list(conn: &Connection, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
    let channels = serde_json::to_string(&f.channels)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, at_ms, actor, action, channel, target, detail FROM audit_log
         WHERE (channel IS NULL OR channel IN (SELECT value FROM json_each(?1)))
           AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3) AND at_ms >= ?4 AND at_ms < ?5
         ORDER BY id DESC LIMIT ?6",
    )?;
    let rows = stmt.query_map(params![channels, f.actor, f.action, f.from_ms as i64, f.to_ms.min(i64::MAX as u64) as i64, f.limit], |r| {
        Ok(AuditEntry {
            id: r.get::<_, i64>(0)? as u64,
            at_ms: r.get::<_, i64>(1)? as u64,
            actor: r.get(2)?,
            action: r.get(3)?,
            channel: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn json_col(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

pub(super) fn user_export(conn: &Connection, channel: &str, user_key: &str) -> StoreResult<Value> {
    let mut conversations = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, context, created_ms FROM conversations WHERE channel = ?1 AND user_key = ?2")?;
    for r in stmt.query_map([channel, user_key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))? {
        let (id, context, created) = r?;
        conversations.push(json!({ "id": id, "context": json_col(context), "created_ms": created }));
    }
    let conv_ids: Vec<String> = conversations.iter().filter_map(|c| c["id"].as_str().map(String::from)).collect();
    let conv_json = serde_json::to_string(&conv_ids)?;
    let mut sessions = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, conversation, state, context, category, agent, opened_ms, closed_ms, close_reason, current_page, entry_point,
                rating, rating_comment, rated_ms
         FROM sessions WHERE channel = ?1 AND user_key = ?2 ORDER BY opened_ms",
    )?;
    let rows = stmt.query_map([channel, user_key], |r| {
        Ok(json!({
            "id": r.get::<_, String>(0)?, "conversation": r.get::<_, String>(1)?, "state": r.get::<_, String>(2)?,
            "context": json_col(r.get::<_, String>(3)?), "category": r.get::<_, Option<String>>(4)?,
            "agent": r.get::<_, Option<String>>(5)?, "opened_ms": r.get::<_, i64>(6)?, "closed_ms": r.get::<_, Option<i64>>(7)?,
            "close_reason": r.get::<_, Option<String>>(8)?, "current_page": r.get::<_, Option<String>>(9)?,
            "entry_point": r.get::<_, Option<String>>(10)?, "rating": r.get::<_, Option<i64>>(11)?,
            "rating_comment": r.get::<_, Option<String>>(12)?, "rated_ms": r.get::<_, Option<i64>>(13)?,
        }))
    })?;
    for row in rows {
        let mut s = row?;
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let tags: Vec<String> = conn
            .prepare_cached("SELECT tag FROM session_tags WHERE session = ?1 ORDER BY pos")?
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        s["tags"] = json!(tags);
        s["notes"] = serde_json::to_value(notes(conn, &id)?)?;
        sessions.push(s);
    }
    let mut messages = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT conversation, seq, session, sender, body, at_ms FROM messages
         WHERE conversation IN (SELECT value FROM json_each(?1)) ORDER BY conversation, seq",
    )?;
    for r in stmt.query_map([&conv_json], |r| {
        Ok(json!({
            "conversation": r.get::<_, String>(0)?, "seq": r.get::<_, i64>(1)?, "session": r.get::<_, Option<String>>(2)?,
            "sender": json_col(r.get::<_, String>(3)?), "body": json_col(r.get::<_, String>(4)?), "at_ms": r.get::<_, i64>(5)?,
        }))
    })? {
        messages.push(r?);
    }
    let mut attachments = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, conversation, mime, name, size, created_ms, blob_key, sha256, CASE WHEN blob_key IS NULL THEN data END
         FROM attachments WHERE conversation IN (SELECT value FROM json_each(?1))",
    )?;
    for r in stmt.query_map([&conv_json], |r| {
        let (bytes, sha256) = super::Attachment::bytes_from_columns(r.get(6)?, r.get(7)?, r.get(8)?);
        let mut a = json!({
            "id": r.get::<_, String>(0)?, "conversation": r.get::<_, String>(1)?, "mime": r.get::<_, String>(2)?,
            "name": r.get::<_, String>(3)?, "size": r.get::<_, i64>(4)?, "created_ms": r.get::<_, i64>(5)?, "sha256": sha256,
        });
        match bytes {
            super::AttachmentBytes::Blob(key) => a["blob_key"] = json!(key),
            super::AttachmentBytes::Inline(data) => a["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&data)),
        }
        Ok(a)
    })? {
        attachments.push(r?);
    }
    let mut blocks = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT until_ms, reason, agent, created_ms FROM blocks WHERE channel = ?1 AND user_key = ?2")?;
    for r in stmt.query_map([channel, user_key], |r| {
        Ok(json!({ "until_ms": r.get::<_, i64>(0)?, "reason": r.get::<_, String>(1)?, "agent": r.get::<_, String>(2)?, "created_ms": r.get::<_, i64>(3)? }))
    })? {
        blocks.push(r?);
    }
    Ok(json!({
        "channel": channel, "user_key": user_key, "conversations": conversations, "sessions": sessions,
        "messages": messages, "attachments": attachments, "blocks": blocks,
    }))
}

pub(super) fn user_erase(conn: &mut Connection, channel: &str, user_key: &str, now_ms: u64) -> StoreResult<EraseCounts> {
    let tx = conn.savepoint()?;
    let convs: Vec<String> = tx
        .prepare_cached("SELECT id FROM conversations WHERE channel = ?1 AND user_key = ?2")?
        .query_map([channel, user_key], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let convs = serde_json::to_string(&convs)?;
    let in_convs = "IN (SELECT value FROM json_each(?1))";
    let messages = tx.prepare_cached(&format!("DELETE FROM messages WHERE conversation {in_convs}"))?.execute([&convs])? as u64;
    let deleted: Vec<Option<String>> = tx
        .prepare_cached(&format!("DELETE FROM attachments WHERE conversation {in_convs} RETURNING blob_key"))?
        .query_map([&convs], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let attachments = deleted.len() as u64;
    let blobs = deleted.into_iter().flatten().collect();
    tx.prepare_cached(&format!("DELETE FROM handoffs WHERE handle IN (SELECT handle FROM handles WHERE conversation {in_convs})"))?
        .execute([&convs])?;
    tx.prepare_cached(&format!("DELETE FROM handles WHERE conversation {in_convs}"))?.execute([&convs])?;
    tx.prepare_cached(&format!("DELETE FROM conversations WHERE id {in_convs}"))?.execute([&convs])?;
    for table in ["session_tags", "session_notes"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE session IN (SELECT id FROM sessions WHERE channel = ?1 AND user_key = ?2)"))?
            .execute([channel, user_key])?;
    }
    tx.prepare_cached("DELETE FROM blocks WHERE channel = ?1 AND user_key = ?2")?.execute([channel, user_key])?;
    // The sessions stay as counts (reports): one new key that links to nothing, no context.
    let empty = serde_json::to_string(&LaunchContext::default())?;
    let anonymous = format!("erased:{}", crate::identity::random_id("u"));
    let sessions = tx
        .prepare_cached(
            "UPDATE sessions SET user_key = ?3, context = ?4, current_page = NULL, rating_comment = NULL,
                 state = 'closed', closed_ms = COALESCE(closed_ms, ?5), close_reason = COALESCE(close_reason, 'visitor_left')
             WHERE channel = ?1 AND user_key = ?2",
        )?
        .execute(params![channel, user_key, anonymous, empty, now_ms as i64])? as u64;
    tx.commit()?;
    Ok(EraseCounts { sessions, messages, attachments, blobs })
}
