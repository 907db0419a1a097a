//! Reports, the audit log and privacy requests over HTTP, for the desk's supervisor and admin
//! views and for scripts. Every route takes `Authorization: Bearer <agent token>`; the role and
//! the channels worked are checked on the server (`forbidden`, `not_found`).
//!
//! - `GET /v1/reports?by=day|channel|entry|category|agent&from=YYYY-MM-DD&to=YYYY-MM-DD[&channel=…][&format=csv]`
//! - `GET /v1/reports/chart.svg?…&metric=sessions|bot_share|first_reply|handle_time|transfers|left_waiting|csat|csat_rate`
//! - `GET /v1/admin/audit?[actor=…][&action=…][&channel=…][&from=…][&to=…][&format=csv]` (admins)
//! - `GET /v1/admin/users/export?channel=…&user_key=…`, `POST /v1/admin/users/erase` `{channel, user_key}` (admins)
//! - `GET|POST /v1/admin/agents`, `POST /v1/admin/agents/{id}`, `GET|POST /v1/admin/canned`,
//!   `GET /v1/admin/channels`, `POST /v1/admin/channels/{id}`, `GET|PUT
//!   /v1/admin/channels/{id}/hours|guidance|menu` (admins, their channels): every change names
//!   the `version` it read; a stale one is refused with `conflict` (409).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use consult_sdk::counsel::ChannelSwitch;
use consult_sdk::protocol::{AgentAccountInfo, AgentCreate, AgentUpdate, CannedEdit, CannedList, ChannelGuidance, ChannelHours, ChannelMenu, ChannelStatus, ChannelSummary};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::agent::{agent_for_token, bearer};
use crate::accounts::AgentChange;
use crate::config::Role;
use crate::core::Core;
use crate::error::AppError;
use crate::reports::{self, GroupBy, Metric};
use crate::store::AuditFilter;
use crate::{AppState, now_ms};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reports", get(report))
        .route("/v1/reports/chart.svg", get(chart))
        .route("/v1/admin/audit", get(audit))
        .route("/v1/admin/users/export", get(export_user))
        .route("/v1/admin/users/erase", post(erase_user))
        .route("/v1/admin/channels", get(channels))
        .route("/v1/admin/canned", get(canned).post(edit_canned))
        .route("/v1/admin/agents", get(agents).post(create_agent))
        .route("/v1/admin/agents/{id}", post(manage_agent))
        .route("/v1/admin/channels/{id}", post(switch_channel))
        .route("/v1/admin/channels/{id}/hours", get(hours).put(set_hours))
        .route("/v1/admin/channels/{id}/guidance", get(guidance).put(set_guidance))
        .route("/v1/admin/channels/{id}/menu", get(menu).put(set_menu))
}

/// The agents of the admin's channels.
async fn agents(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<AgentAccountInfo>>, AppError> {
    let admin = signed_in(&state, &headers, Role::Admin).await?;
    Ok(Json(state.run(move |core, s| core.agent_accounts(s, &admin)).await?))
}

/// Hashes a new password off the async threads and before the storage thread (argon2 is slow on
/// purpose).
async fn hash_new(p: String) -> Result<String, AppError> {
    crate::accounts::check_new_password(&p)?;
    tokio::task::spawn_blocking(move || crate::identity::hash_password(&p)).await.map_err(|e| AppError::BadRequest(e.to_string()))
}

/// Create an agent of the admin's channels (body [`AgentCreate`]).
async fn create_agent(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Json<AgentAccountInfo>, AppError> {
    let admin = signed_in(&state, &headers, Role::Admin).await?;
    let mut req: AgentCreate = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not {{id, name, password, channels, max_chats…}}: {e}")))?;
    let hash = hash_new(std::mem::take(&mut req.password)).await?;
    Ok(Json(state.run(move |core, s| core.create_agent(s, &admin, &req, &hash, now_ms())).await?))
}

/// Change an agent (body [`AgentUpdate`]: disabled, password, skills, max_chats, team, version).
async fn manage_agent(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<AgentAccountInfo>, AppError> {
    let admin = signed_in(&state, &headers, Role::Admin).await?;
    let req: AgentUpdate = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not {{version, disabled, password, skills, max_chats, team}}: {e}")))?;
    let password_hash = match req.password {
        Some(p) => Some(hash_new(p).await?),
        None => None,
    };
    let change = AgentChange { disabled: req.disabled, password_hash, skills: req.skills, max_chats: req.max_chats, team: req.team };
    let version = req.version;
    Ok(Json(state.run(move |core, s| core.manage_agent(s, &admin, &id, version, change, now_ms())).await?))
}

/// The canned answers every agent has, with their version.
async fn canned(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<CannedList>, AppError> {
    signed_in(&state, &headers, Role::Admin).await?;
    Ok(Json(state.run(|core, s| core.canned_list(s)).await?))
}

/// Save or remove one canned answer (body [`CannedEdit`]); answers with the whole list.
async fn edit_canned(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Json<CannedList>, AppError> {
    let admin = signed_in(&state, &headers, Role::Admin).await?;
    let req: CannedEdit = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not {{shortcut, text, version}}: {e}")))?;
    Ok(Json(state.run(move |core, s| core.edit_canned(s, &admin, &req.shortcut, req.text.as_deref(), req.version, now_ms())).await?))
}

/// The admin's channels with their status and switch version.
async fn channels(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<ChannelSummary>>, AppError> {
    let agent = signed_in(&state, &headers, Role::Admin).await?;
    let mine = state.core.channels_of(&agent)?;
    let versions: std::collections::HashMap<String, u64> =
        state.db.call(|s| s.runtime_list("switch:")).await?.into_iter().map(|e| (e.name, e.version)).collect();
    let now = now_ms() / 1000;
    let list = mine.iter().filter_map(|id| state.core.live_channel(id));
    Ok(Json(
        list.map(|c| ChannelSummary {
            id: c.id.clone(),
            name: c.name.clone(),
            status: state.core.channel_status(&c, now),
            version: versions.get(&format!("switch:{}", c.id)).copied().unwrap_or(0),
        })
        .collect(),
    ))
}

/// Switch one of the admin's channels on or off (body `{"enabled": bool, "version": n}`).
async fn switch_channel(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<ChannelStatus>, AppError> {
    let agent = admin_of(&state, &headers, &id).await?;
    let req: ChannelSwitch = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not {{enabled, version}}: {e}")))?;
    // The desk always names the version it read.
    let version = req.version.ok_or_else(|| AppError::BadRequest("version: send the version you read".into()))?;
    Ok(Json(state.run(move |core, s| core.switch_channel(s, &id, req.enabled, Some(version), &agent, now_ms())).await?))
}

/// The signed-in admin, if the channel is one of theirs (another channel looks like none).
async fn admin_of(state: &AppState, headers: &HeaderMap, channel: &str) -> Result<String, AppError> {
    let admin = signed_in(state, headers, Role::Admin).await?;
    if !state.core.channels_of(&admin)?.iter().any(|c| c == channel) {
        return Err(AppError::NotFound);
    }
    Ok(admin)
}

/// Reads one of a channel's settings for an admin of that channel.
async fn read_setting<T: Send + 'static>(state: &AppState, headers: &HeaderMap, channel: String, read: crate::settings::Read<T>) -> Result<Json<T>, AppError> {
    admin_of(state, headers, &channel).await?;
    Ok(Json(state.run(move |core, s| read(core, s, &channel)).await?))
}

/// Changes one of a channel's settings for an admin of that channel (body: the setting with the
/// version read, of the shape named).
async fn write_setting<T: DeserializeOwned + Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    channel: String,
    body: &[u8],
    shape: &str,
    write: crate::settings::Write<T>,
) -> Result<Json<T>, AppError> {
    let admin = admin_of(state, headers, &channel).await?;
    let change: T = serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("body is not {shape}: {e}")))?;
    Ok(Json(state.run(move |core, s| write(core, s, &admin, &channel, change, now_ms())).await?))
}

/// A channel's business hours and holidays, with their version.
async fn hours(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<ChannelHours>, AppError> {
    read_setting(&state, &headers, id, Core::channel_hours).await
}

/// Change them (body [`ChannelHours`]; `hours: null` is always open).
async fn set_hours(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Json<ChannelHours>, AppError> {
    write_setting(&state, &headers, id, &body, "{version, hours: {time_zone, after_hours, after_hours_message, days, holidays}}", Core::set_channel_hours).await
}

/// A channel's guidance and retention notice, with their version.
async fn guidance(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<ChannelGuidance>, AppError> {
    read_setting(&state, &headers, id, Core::channel_guidance).await
}

/// Change them (body [`ChannelGuidance`]).
async fn set_guidance(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Json<ChannelGuidance>, AppError> {
    write_setting(&state, &headers, id, &body, "{version, guidance, retention_notice}", Core::set_channel_guidance).await
}

/// A channel's bot menu, with its version.
async fn menu(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<ChannelMenu>, AppError> {
    read_setting(&state, &headers, id, Core::channel_menu).await
}

/// Change it (body [`ChannelMenu`]).
async fn set_menu(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Json<ChannelMenu>, AppError> {
    write_setting(&state, &headers, id, &body, "{version, menu: {prompt, options, free_text}}", Core::set_channel_menu).await
}

/// The signed-in agent with at least this role.
async fn signed_in(state: &AppState, headers: &HeaderMap, need: Role) -> Result<String, AppError> {
    let agent = agent_for_token(state, bearer(headers).unwrap_or_default()).await?.ok_or(AppError::Unauthorized)?;
    state.core.require(&agent, need)?;
    Ok(agent)
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    channel: Option<String>,
    format: Option<String>,
    metric: Option<String>,
}

/// A `YYYY-MM-DD` query field.
fn date(field: &str, s: &str) -> Result<jiff::civil::Date, AppError> {
    s.parse().map_err(|_| AppError::BadRequest(format!("{field}: {s:?} is not a YYYY-MM-DD date")))
}

/// Unix ms of a day's midnight in the reports' time zone.
fn midnight_ms(field: &str, d: jiff::civil::Date, tz: &jiff::tz::TimeZone) -> Result<u64, AppError> {
    let ts = d.to_zoned(tz.clone()).map_err(|_| AppError::BadRequest(format!("{field}: {d} is out of range")))?;
    Ok(ts.timestamp().as_millisecond().max(0) as u64)
}

/// `YYYY-MM-DD` → Unix ms of its midnight in the reports' time zone.
fn day_ms(field: &str, s: &str, tz: &jiff::tz::TimeZone) -> Result<u64, AppError> {
    midnight_ms(field, date(field, s)?, tz)
}

/// The period's first and last day in the reports' time zone (`[server] report_time_zone`): the
/// last 7 by default, at most 366.
fn period_days(q: &ReportQuery, tz: &jiff::tz::TimeZone) -> Result<(jiff::civil::Date, jiff::civil::Date), AppError> {
    let today = jiff::Timestamp::from_millisecond(now_ms() as i64).map_err(|e| AppError::BadRequest(e.to_string()))?.to_zoned(tz.clone()).date();
    let to_day = match &q.to {
        Some(t) => date("to", t)?,
        None => today,
    };
    let from_day = match &q.from {
        Some(f) => date("from", f)?,
        None => to_day.saturating_sub(jiff::ToSpan::days(6)),
    };
    let days = (to_day - from_day).get_days();
    if !(0..366).contains(&days) {
        return Err(AppError::BadRequest("from must be on or before to, at most 366 days apart".into()));
    }
    Ok((from_day, to_day))
}

/// The period `[from, to)` in Unix ms: whole days in the reports' time zone.
fn period(q: &ReportQuery, tz: &jiff::tz::TimeZone) -> Result<(u64, u64), AppError> {
    let (from_day, to_day) = period_days(q, tz)?;
    Ok((midnight_ms("from", from_day, tz)?, midnight_ms("to", to_day.saturating_add(jiff::ToSpan::days(1)), tz)?))
}

/// The report lines the agent may see.
async fn lines(state: &AppState, headers: &HeaderMap, q: &ReportQuery) -> Result<(String, GroupBy, Vec<reports::ReportLine>), AppError> {
    let agent = signed_in(state, headers, Role::Supervisor).await?;
    let by = GroupBy::parse(q.by.as_deref().unwrap_or("day"))
        .ok_or_else(|| AppError::BadRequest("by must be day, channel, entry, category or agent".into()))?;
    let (from, to) = period(q, &state.config().report_tz)?;
    let mut channels = state.core.channels_of(&agent)?;
    if let Some(c) = &q.channel {
        if !channels.contains(c) {
            return Err(AppError::NotFound);
        }
        channels = vec![c.clone()];
    }
    let rows = state.db.call(move |s| s.report_rows(&channels, from, to)).await?;
    Ok((agent, by, reports::aggregate(&rows, by, &state.config().report_tz)))
}

async fn report(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ReportQuery>) -> Result<Response, AppError> {
    let (agent, by, lines) = lines(&state, &headers, &q).await?;
    if q.format.as_deref() == Some("csv") {
        let detail = format!("report csv by {} from {:?} to {:?}", by.as_str(), q.from, q.to);
        let channel = q.channel.clone();
        state.run(move |core, s| core.audit(s, &agent, "export", channel.as_deref(), None, &detail, now_ms())).await?;
        return Ok(csv_response(reports::csv(&lines, by), &format!("consult-report-{}.csv", by.as_str())));
    }
    // The days it covers, in the reports' time zone: the desk shows them (the browser's own
    // "today" may be another day).
    let tz = &state.config().report_tz;
    let (from, to) = period_days(&q, tz)?;
    let zone = tz.iana_name().unwrap_or("UTC");
    Ok(Json(serde_json::json!({ "by": by, "from": from.to_string(), "to": to.to_string(), "time_zone": zone, "lines": lines })).into_response())
}

fn csv_response(body: String, name: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn chart(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ReportQuery>) -> Result<Response, AppError> {
    let metric = Metric::parse(q.metric.as_deref().unwrap_or("sessions")).ok_or_else(|| AppError::BadRequest("unknown metric".into()))?;
    let (_, _, lines) = lines(&state, &headers, &q).await?;
    let mut r = reports::chart_svg(&lines, metric).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    limit: Option<u32>,
}

async fn audit(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Result<Response, AppError> {
    let agent = signed_in(&state, &headers, Role::Admin).await?;
    let mut channels = state.core.channels_of(&agent)?;
    if let Some(c) = &q.channel {
        if !channels.contains(c) {
            return Err(AppError::NotFound);
        }
        channels = vec![c.clone()];
    }
    let tz = &state.config().report_tz;
    let from_ms = q.from.as_deref().map(|f| day_ms("from", f, tz)).transpose()?.unwrap_or(0);
    let to_ms = q.to.as_deref().map(|t| day_ms("to", t, tz).map(|d| d + 86_400_000)).transpose()?.unwrap_or(u64::MAX / 2);
    let empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let filter = AuditFilter {
        channels,
        actor: empty(q.actor),
        action: empty(q.action),
        from_ms,
        to_ms,
        limit: q.limit.unwrap_or(500).clamp(1, 10_000),
    };
    let csv = q.format.as_deref() == Some("csv");
    let entries = state
        .run(move |core, s| {
            let entries = s.audit_list(&filter)?;
            if csv {
                core.audit(s, &agent, "export", None, None, &format!("audit csv, {} lines", entries.len()), now_ms())?;
            }
            Ok(entries)
        })
        .await?;
    if csv {
        let mut out = String::from("id,at,actor,action,channel,target,detail\n");
        for e in &entries {
            let at = jiff::Timestamp::from_millisecond(e.at_ms as i64).map(|t| t.to_string()).unwrap_or_default();
            let cells = [e.id.to_string(), at, e.actor.clone(), e.action.clone(), e.channel.clone().unwrap_or_default(), e.target.clone().unwrap_or_default(), e.detail.clone()];
            out.push_str(&cells.iter().map(|c| reports::csv_field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        return Ok(csv_response(out, "consult-audit.csv"));
    }
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

#[derive(Deserialize)]
struct UserQuery {
    channel: String,
    user_key: String,
}

async fn export_user(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<UserQuery>) -> Result<Response, AppError> {
    let agent = signed_in(&state, &headers, Role::Admin).await?;
    let mut data = state.run(move |core, s| core.export_user(s, &agent, &q.channel, &q.user_key, now_ms())).await?;
    crate::blob::fill_export(state.blobs.as_ref(), &mut data).await?;
    let mut r = Json(data).into_response();
    r.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"consult-user-export.json\""));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn erase_user(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, AppError> {
    let agent = signed_in(&state, &headers, Role::Admin).await?;
    let q: UserQuery = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not {{channel, user_key}}: {e}")))?;
    let counts = state.run(move |core, s| core.erase_user(s, &agent, &q.channel, &q.user_key, now_ms())).await?;
    // The rows are committed gone: their bytes go now.
    crate::blob::delete_all(state.blobs.as_ref(), &counts.blobs).await;
    Ok(Json(counts).into_response())
}
