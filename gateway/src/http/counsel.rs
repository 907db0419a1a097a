//! `/v1/counsel/…`: the Counsel API for contact-centre systems, bots and CRMs, with
//! `Authorization: Bearer ck_…` (a per-channel API key) on every call, and `/v1/openapi.json`.
//! Every route is registered through `utoipa_axum`'s `routes!`, so a route cannot exist without
//! its entry in the generated OpenAPI 3.1 document.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Json, Router};
use consult_sdk::counsel::{
    ActionResult, ApiKeyInfo, ApiKeyList, AssignRequest, BlockRequest, ChannelSwitch, CloseRequest, CreateApiKey, CreateWebhook, CreatedApiKey, CreatedWebhook,
    DeliveryList, HandoverRequest, MessagePage, ReadRequest, ReplayResult, Scope, SendAs, SendMessage, SendResult, SessionDetail, SessionPage,
    UnblockRequest, UploadResult, WebhookEndpoint, WebhookList, WebhookPayload, codes,
};
use consult_sdk::protocol::{ChannelGuidance, ChannelHours, ChannelMenu, ChannelStatus, ErrorBody, Receipts, SessionState};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::apikeys::{self, Caller};
use crate::core::Core;
use crate::counsel::Actor;
use crate::error::AppError;
use crate::store::EndpointRow;
use crate::{AppState, now_ms};

#[derive(OpenApi)]
#[openapi(
    info(title = "Consult Counsel API", version = "1", description = "Sessions, messages and actions of one channel for the holder of an API key. Errors are ErrorBody {code, message}. Webhook bodies: WebhookPayload, signed per Standard Webhooks 1.0."),
    modifiers(&BearerKey),
    components(schemas(WebhookPayload, ErrorBody)),
    tags((name = "sessions"), (name = "messages"), (name = "actions"), (name = "keys"), (name = "webhooks"))
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The Counsel API's routes and its OpenAPI document.
pub fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(user_sessions))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(read))
        .routes(routes!(channel_status, switch_channel))
        .routes(routes!(channel_hours, set_channel_hours))
        .routes(routes!(channel_guidance, set_channel_guidance))
        .routes(routes!(channel_menu, set_channel_menu))
        .routes(routes!(take))
        .routes(routes!(assign))
        .routes(routes!(transfer))
        .routes(routes!(close))
        .routes(routes!(handover))
        .routes(routes!(block))
        .routes(routes!(unblock))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(replay))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .routes(routes!(upload))
        .split_for_parts();
    (router, doc)
}

/// Routes of this module, with `GET /v1/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, doc) = parts();
    let json = doc.to_pretty_json().unwrap_or_default();
    router.route(
        "/v1/openapi.json",
        axum::routing::get(move || {
            let json = json.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], json) }
        }),
    )
}

type Res<T> = Result<Json<T>, AppError>;

fn json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest(format!("the body is not a valid {what}: {e}")))
}

async fn caller(state: &AppState, peer: SocketAddr, headers: &HeaderMap, scope: Scope) -> Result<Caller, AppError> {
    let c = apikeys::authenticate(state, peer, headers).await?;
    c.require(scope)?;
    Ok(c)
}

fn actor(c: &Caller) -> Actor {
    match &c.key.agent {
        Some(a) => Actor::Agent(a.clone()),
        None => Actor::System(c.key.id.clone()),
    }
}

/// Who owns the key's uploads (an agent key: its agent, so the desk's rules find them).
fn owner(c: &Caller) -> String {
    c.key.agent.clone().unwrap_or_else(|| format!("api:{}", c.key.id))
}

fn detail(row: &crate::store::SessionRow, receipts: Receipts) -> SessionDetail {
    SessionDetail { session: row.summary(), close_reason: row.close_reason, receipts }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `bot`, `queued`, `assigned` or `closed`; all when absent.
    state: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

fn limit(l: Option<u32>) -> Result<u32, AppError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(n) => Err(AppError::BadRequest(format!("limit: {n} is not 1 to 200"))),
    }
}

/// List the channel's sessions, oldest first, by state, paged by cursor.
#[utoipa::path(get, path = "/v1/counsel/sessions", tag = "sessions", params(ListQuery), security(("api_key" = [])),
    responses((status = 200, body = SessionPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_sessions(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Res<SessionPage> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let st = match q.state.as_deref() {
        None | Some("") => None,
        Some(s @ ("bot" | "queued" | "assigned" | "closed")) => Some(serde_json::from_value::<SessionState>(serde_json::Value::String(s.into())).map_err(|e| AppError::BadRequest(e.to_string()))?),
        Some(s) => return Err(AppError::BadRequest(format!("state: {s:?} is not bot, queued, assigned or closed"))),
    };
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(cur) => {
            let (ms, id) = cur.split_once('.').ok_or_else(|| AppError::BadRequest("cursor: pass next_cursor back as it came".into()))?;
            Some((ms.parse::<u64>().map_err(|_| AppError::BadRequest("cursor: pass next_cursor back as it came".into()))?, id.to_string()))
        }
    };
    let n = limit(q.limit)?;
    let channel = c.channel().to_string();
    let rows = state.db.call(move |s| s.counsel_sessions(&channel, st, after.as_ref().map(|(ms, id)| (*ms, id.as_str())), n + 1)).await?;
    let more = rows.len() > n as usize;
    let sessions: Vec<_> = rows.iter().take(n as usize).map(|r| r.summary()).collect();
    let next_cursor = if more { sessions.last().map(|s| format!("{}.{}", s.opened_ms, s.id)) } else { None };
    Ok(Json(SessionPage { sessions, next_cursor }))
}

/// One session: entry point (verified and declared apart), membership, user key, current page, assignment.
#[utoipa::path(get, path = "/v1/counsel/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "Session id")), security(("api_key" = [])),
    responses((status = 200, body = SessionDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_session(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>) -> Res<SessionDetail> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let channel = c.channel().to_string();
    let (row, receipts) = state
        .run(move |core, s| {
            let row = core.channel_session(s, &channel, &id)?;
            let receipts = s.receipts(&row.conversation)?;
            Ok((row, receipts))
        })
        .await?;
    Ok(Json(detail(&row, receipts)))
}

/// A user's sessions in this channel, newest first.
#[utoipa::path(get, path = "/v1/counsel/users/{user_key}/sessions", tag = "sessions", params(("user_key" = String, Path, description = "User key")), security(("api_key" = [])),
    responses((status = 200, body = SessionPage), (status = 401, body = ErrorBody)))]
async fn user_sessions(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(user_key): Path<String>) -> Res<SessionPage> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let channel = c.channel().to_string();
    let rows = state.db.call(move |s| s.history(&channel, &user_key, 100)).await?;
    Ok(Json(SessionPage { sessions: rows.iter().map(|r| r.summary()).collect(), next_cursor: None }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// Messages after this seq (default 0: from the start of the session).
    after: Option<u64>,
    /// 1 to 200 (default 100).
    limit: Option<u32>,
}

/// A session's messages after a seq, oldest first.
#[utoipa::path(get, path = "/v1/counsel/sessions/{id}/messages", tag = "messages", params(("id" = String, Path, description = "Session id"), MessagesQuery), security(("api_key" = [])),
    responses((status = 200, body = MessagePage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MessagesQuery>,
) -> Res<MessagePage> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let n = match q.limit {
        None => 100,
        l => limit(l)?,
    };
    let (channel, after) = (c.channel().to_string(), q.after.unwrap_or(0));
    let (mut messages, receipts) = state
        .run(move |core, s| {
            let row = core.channel_session(s, &channel, &id)?;
            Ok((s.session_messages(&id, after, n + 1)?, s.receipts(&row.conversation)?))
        })
        .await?;
    let more = messages.len() > n as usize;
    messages.truncate(n as usize);
    Ok(Json(MessagePage { messages, more, receipts }))
}

/// Mark the visitor's messages read up to `seq` (the visitor sees "read"): an agent key as the
/// session's assignee, a key without an agent for any session of its channel. Answers with the
/// send results now.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/read", tag = "messages", params(("id" = String, Path, description = "Session id")), request_body = ReadRequest, security(("api_key" = [])),
    responses((status = 200, body = Receipts), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn read(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<Receipts> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: ReadRequest = json(&body, "ReadRequest {seq}")?;
    let (channel, actor) = (c.channel().to_string(), actor(&c));
    Ok(Json(state.run(move |core, s| core.api_read(s, &channel, &actor, &id, req.seq)).await?))
}

/// Reply as the key's agent (an open session assigned to that agent) or as the bot (an open
/// session still with the bot). The visitor speaks first: no session open, no reply.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/messages", tag = "messages", params(("id" = String, Path, description = "Session id")), request_body = SendMessage, security(("api_key" = [])),
    responses((status = 200, body = SendResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn send_message(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<SendResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: SendMessage = json(&body, "SendMessage {client_id, sender, body}")?;
    let (channel, owner, now) = (c.channel().to_string(), owner(&c), now_ms());
    let seq = match req.sender {
        SendAs::Bot => state.run(move |core, s| core.bot_send(s, &channel, &owner, &id, &req.client_id, req.body, now)).await?,
        SendAs::Agent => {
            let agent = c.key.agent.clone().ok_or_else(|| AppError::Api(StatusCode::FORBIDDEN, codes::NO_AGENT, "this key has no agent identity; send as the bot or use an agent key".into()))?;
            state
                .run(move |core, s| {
                    core.channel_session(s, &channel, &id)?;
                    core.agent_send(s, &agent, &id, &req.client_id, req.body, now)
                })
                .await?
        }
    };
    Ok(Json(SendResult { seq }))
}

/// Take a queued session (agent keys).
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/take", tag = "actions", params(("id" = String, Path, description = "Session id")), security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn take(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>) -> Res<ActionResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let agent = c.key.agent.clone().ok_or_else(|| AppError::Api(StatusCode::FORBIDDEN, codes::NO_AGENT, "taking needs an agent key".into()))?;
    let channel = c.channel().to_string();
    let row = state
        .run(move |core, s| {
            core.channel_session(s, &channel, &id)?;
            core.take(s, &agent, &id)
        })
        .await?;
    Ok(Json(ActionResult { session: row.summary() }))
}

async fn assign_or_transfer(state: AppState, peer: SocketAddr, headers: HeaderMap, id: String, body: Bytes) -> Res<ActionResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: AssignRequest = json(&body, "AssignRequest {agent}")?;
    let (channel, actor, now) = (c.channel().to_string(), actor(&c), now_ms());
    let row = state.run(move |core, s| core.api_assign(s, &channel, &actor, &id, &req.agent, now)).await?;
    Ok(Json(ActionResult { session: row.summary() }))
}

/// Assign a queued session to an agent, or hand an assigned one to another.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/assign", tag = "actions", params(("id" = String, Path, description = "Session id")), request_body = AssignRequest, security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn assign(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<ActionResult> {
    assign_or_transfer(state, peer, headers, id, body).await
}

/// Transfer an assigned session to another agent.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/transfer", tag = "actions", params(("id" = String, Path, description = "Session id")), request_body = AssignRequest, security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn transfer(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<ActionResult> {
    assign_or_transfer(state, peer, headers, id, body).await
}

/// Close a session.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/close", tag = "actions", params(("id" = String, Path, description = "Session id")), request_body = Option<CloseRequest>, security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<ActionResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: CloseRequest = if body.is_empty() { CloseRequest::default() } else { json(&body, "CloseRequest {to_bot}")? };
    let (channel, actor, now) = (c.channel().to_string(), actor(&c), now_ms());
    let row = state.run(move |core, s| core.api_close(s, &channel, &actor, &id, req.to_bot, now)).await?;
    Ok(Json(ActionResult { session: row.summary() }))
}

/// The bot hands the session to the agents' queue, optionally for a category.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/handover", tag = "actions", params(("id" = String, Path, description = "Session id")), request_body = HandoverRequest, security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn handover(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<ActionResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: HandoverRequest = if body.is_empty() { HandoverRequest::default() } else { json(&body, "HandoverRequest {category}")? };
    let (channel, now) = (c.channel().to_string(), now_ms());
    let row = state.run(move |core, s| core.handover(s, &channel, &id, req.category.as_deref(), now)).await?;
    Ok(Json(ActionResult { session: row.summary() }))
}

/// Block the session's visitor (their user key) for some days; the session closes.
#[utoipa::path(post, path = "/v1/counsel/sessions/{id}/block", tag = "actions", params(("id" = String, Path, description = "Session id")), request_body = BlockRequest, security(("api_key" = [])),
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn block(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Res<ActionResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: BlockRequest = json(&body, "BlockRequest {days, reason}")?;
    let (channel, actor, now) = (c.channel().to_string(), actor(&c), now_ms());
    let row = state.run(move |core, s| core.api_block(s, &channel, &actor, &id, req.days, &req.reason, now)).await?;
    Ok(Json(ActionResult { session: row.summary() }))
}

/// The key's channel now: switched on or off, open by its hours, when it opens next.
#[utoipa::path(get, path = "/v1/counsel/channel", tag = "channel", security(("api_key" = [])),
    responses((status = 200, body = ChannelStatus), (status = 401, body = ErrorBody)))]
async fn channel_status(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<ChannelStatus> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let channel = state.core.live_channel(c.channel()).ok_or_else(|| AppError::UnknownChannel(c.channel().into()))?;
    Ok(Json(state.core.channel_status(&channel, now_ms() / 1000)))
}

/// Switch the key's channel on or off (`admin` scope): off hides every button and refuses new
/// launches on every node within a second; open chats go on. Stored, so it outlives restarts,
/// and it wins over the configuration file's `enabled`.
#[utoipa::path(post, path = "/v1/counsel/channel", tag = "channel", request_body = ChannelSwitch, security(("api_key" = [])),
    responses((status = 200, body = ChannelStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn switch_channel(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Res<ChannelStatus> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let req: ChannelSwitch = json(&body, "ChannelSwitch {enabled}")?;
    let (channel, by, now) = (c.channel().to_string(), format!("api:{}", c.key.id), now_ms());
    Ok(Json(state.run(move |core, s| core.switch_channel(s, &channel, req.enabled, req.version, &by, now)).await?))
}

/// Reads one of the key's channel's settings (any scope).
async fn read_setting<T: Send + 'static>(state: &AppState, peer: SocketAddr, headers: &HeaderMap, read: crate::settings::Read<T>) -> Res<T> {
    let channel = caller(state, peer, headers, Scope::Read).await?.channel().to_string();
    Ok(Json(state.run(move |core, s| read(core, s, &channel)).await?))
}

/// Changes one of the key's channel's settings (`admin` scope), naming the version read.
async fn write_setting<T: DeserializeOwned + Send + 'static>(state: &AppState, peer: SocketAddr, headers: &HeaderMap, body: &[u8], shape: &str, write: crate::settings::Write<T>) -> Res<T> {
    let c = caller(state, peer, headers, Scope::Admin).await?;
    let change: T = json(body, shape)?;
    let (channel, by, now) = (c.channel().to_string(), format!("api:{}", c.key.id), now_ms());
    Ok(Json(state.run(move |core, s| write(core, s, &by, &channel, change, now)).await?))
}

/// The key's channel's business hours and holidays, with their version (0: as the file says).
#[utoipa::path(get, path = "/v1/counsel/channel/hours", tag = "channel", security(("api_key" = [])),
    responses((status = 200, body = ChannelHours), (status = 401, body = ErrorBody)))]
async fn channel_hours(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<ChannelHours> {
    read_setting(&state, peer, &headers, Core::channel_hours).await
}

/// Change them (`admin` scope), naming the version read: every node applies them within a
/// second, and they win over the configuration file from then on. `hours: null` is always open.
#[utoipa::path(put, path = "/v1/counsel/channel/hours", tag = "channel", request_body = ChannelHours, security(("api_key" = [])),
    responses((status = 200, body = ChannelHours), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_channel_hours(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Res<ChannelHours> {
    write_setting(&state, peer, &headers, &body, "ChannelHours {version, hours}", Core::set_channel_hours).await
}

/// The key's channel's guidance and retention notice, with their version.
#[utoipa::path(get, path = "/v1/counsel/channel/guidance", tag = "channel", security(("api_key" = [])),
    responses((status = 200, body = ChannelGuidance), (status = 401, body = ErrorBody)))]
async fn channel_guidance(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<ChannelGuidance> {
    read_setting(&state, peer, &headers, Core::channel_guidance).await
}

/// Change them (`admin` scope), naming the version read; the retention notice can't be empty.
#[utoipa::path(put, path = "/v1/counsel/channel/guidance", tag = "channel", request_body = ChannelGuidance, security(("api_key" = [])),
    responses((status = 200, body = ChannelGuidance), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_channel_guidance(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Res<ChannelGuidance> {
    write_setting(&state, peer, &headers, &body, "ChannelGuidance {version, guidance, retention_notice}", Core::set_channel_guidance).await
}

/// The key's channel's bot menu, with its version.
#[utoipa::path(get, path = "/v1/counsel/channel/menu", tag = "channel", security(("api_key" = [])),
    responses((status = 200, body = ChannelMenu), (status = 401, body = ErrorBody)))]
async fn channel_menu(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<ChannelMenu> {
    read_setting(&state, peer, &headers, Core::channel_menu).await
}

/// Change it (`admin` scope), naming the version read.
#[utoipa::path(put, path = "/v1/counsel/channel/menu", tag = "channel", request_body = ChannelMenu, security(("api_key" = [])),
    responses((status = 200, body = ChannelMenu), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_channel_menu(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Res<ChannelMenu> {
    write_setting(&state, peer, &headers, &body, "ChannelMenu {version, menu}", Core::set_channel_menu).await
}

/// Lift a user key's blocks on this channel.
#[utoipa::path(post, path = "/v1/counsel/unblock", tag = "actions", request_body = UnblockRequest, security(("api_key" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn unblock(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Result<StatusCode, AppError> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let req: UnblockRequest = json(&body, "UnblockRequest {user_key}")?;
    let (channel, actor, now) = (c.channel().to_string(), actor(&c), now_ms());
    state
        .run(move |core, s| match actor {
            Actor::Agent(a) => core.unblock(s, &a, &channel, &req.user_key, now).map(|_| ()),
            Actor::System(_) => s.unblock(&channel, &req.user_key).map(|_| ()).map_err(AppError::from),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// Display name of the file.
    name: Option<String>,
}

/// Upload a photo or file (raw bytes as the body), then send it by id in an image or file body.
/// Same content checks and limits as visitor uploads.
#[utoipa::path(post, path = "/v1/counsel/uploads", tag = "messages", params(UploadQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"), security(("api_key" = [])),
    responses((status = 200, body = UploadResult), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn upload(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Query(q): Query<UploadQuery>, request: Request) -> Res<UploadResult> {
    let c = caller(&state, peer, &headers, Scope::Write).await?;
    let (data, mime) = super::uploads::read_upload(request).await?;
    let name = super::uploads::clean_name(q.name);
    let a = super::uploads::store_upload(&state, None, Some(owner(&c)), mime, name, data, |_, _, _| Ok(())).await?;
    Ok(Json(UploadResult { attachment: a.id, mime: a.mime, size: a.size, name: a.name }))
}

/// The channel's API keys (admin).
#[utoipa::path(get, path = "/v1/counsel/keys", tag = "keys", security(("api_key" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_keys(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<ApiKeyList> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let channel = c.channel().to_string();
    let keys = state.db.call(move |s| s.api_keys(&channel)).await?;
    Ok(Json(ApiKeyList { keys: keys.iter().map(apikeys::info).collect() }))
}

/// Create an API key for this channel (admin); the secret is in this answer only.
#[utoipa::path(post, path = "/v1/counsel/keys", tag = "keys", request_body = CreateApiKey, security(("api_key" = [])),
    responses((status = 201, body = CreatedApiKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_key(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, AppError> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let req: CreateApiKey = json(&body, "CreateApiKey {name, scopes, agent}")?;
    apikeys::check_new(&state, c.channel(), &req.name, &req.scopes, req.agent.as_deref())?;
    let (row, secret) = apikeys::mint(c.channel(), &req.name, req.scopes, req.agent, now_ms());
    let key: ApiKeyInfo = apikeys::info(&row);
    state.db.call(move |s| s.api_key_put(&row)).await?;
    tracing::info!(channel = %key.channel, key = %key.id, by = %c.key.id, "API key created");
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, secret })))
}

/// Revoke an API key of this channel (admin).
#[utoipa::path(delete, path = "/v1/counsel/keys/{id}", tag = "keys", params(("id" = String, Path, description = "Key id")), security(("api_key" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let (channel, now) = (c.channel().to_string(), now_ms());
    let done = state.db.call(move |s| s.api_key_revoke(&channel, &id, now)).await?;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(AppError::NotFound) }
}

fn endpoint_view(e: &EndpointRow) -> WebhookEndpoint {
    WebhookEndpoint {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.events.clone(),
        source: e.source.clone(),
        paused_ms: e.paused_ms,
        paused_reason: e.paused_reason.clone(),
        pending: e.pending,
        failed: e.failed,
    }
}

/// The channel's webhook endpoints, with paused state and delivery counts.
#[utoipa::path(get, path = "/v1/counsel/webhooks", tag = "webhooks", security(("api_key" = [])),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_webhooks(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Res<WebhookList> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    let channel = c.channel().to_string();
    let rows = state.db.call(move |s| s.webhook_endpoints(Some(&channel))).await?;
    Ok(Json(WebhookList { endpoints: rows.iter().map(endpoint_view).collect() }))
}

/// Add a webhook endpoint (admin). The secret is generated unless given, and shown once.
#[utoipa::path(post, path = "/v1/counsel/webhooks", tag = "webhooks", request_body = CreateWebhook, security(("api_key" = [])),
    responses((status = 201, body = CreatedWebhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_webhook(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, AppError> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let req: CreateWebhook = json(&body, "CreateWebhook {url, events, secret}")?;
    crate::webhooks::config::check_url(&req.url).map_err(|e| AppError::BadRequest(format!("url: {e}")))?;
    crate::webhooks::config::check_events(&req.events).map_err(|e| AppError::BadRequest(format!("events: {e}")))?;
    if let Ok(u) = reqwest::Url::parse(&req.url)
        && let Some(why) = crate::webhooks::refuse_target(&u, state.config().counsel.allow_private_targets)
    {
        return Err(AppError::BadRequest(format!("url: {why}; the configuration does not allow private targets")));
    }
    let secret = match req.secret {
        Some(s) if s.split(' ').all(|x| consult_sdk::webhooks::check_secret(x).is_ok()) => s,
        Some(_) => return Err(AppError::BadRequest("secret: whsec_ followed by base64 of 16 bytes or more".into())),
        None => {
            use base64::Engine as _;
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(crate::identity::random_bytes::<24>()))
        }
    };
    let row = EndpointRow {
        id: crate::identity::random_id("wh").replace('-', "_"),
        channel: c.channel().into(),
        url: req.url,
        secret: secret.clone(),
        events: req.events,
        source: "api".into(),
        paused_ms: None,
        paused_reason: None,
        pending: 0,
        failed: 0,
    };
    let view = endpoint_view(&row);
    state.db.call(move |s| s.webhook_endpoint_put(&row, now_ms())).await?;
    Ok((StatusCode::CREATED, Json(CreatedWebhook { endpoint: view, secret })))
}

/// Delete a webhook endpoint and its pending deliveries (admin).
#[utoipa::path(delete, path = "/v1/counsel/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Endpoint id")), security(("api_key" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_webhook(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let channel = c.channel().to_string();
    let done = state.db.call(move |s| s.webhook_endpoint_delete(&channel, &id)).await?;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(AppError::NotFound) }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`; all when absent.
    status: Option<String>,
}

/// An endpoint's deliveries (e.g. `?status=failed`), oldest first, at most 500.
#[utoipa::path(get, path = "/v1/counsel/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "Endpoint id"), DeliveriesQuery), security(("api_key" = [])),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> Res<DeliveryList> {
    let c = caller(&state, peer, &headers, Scope::Read).await?;
    if let Some(s) = q.status.as_deref()
        && !matches!(s, "pending" | "delivered" | "failed")
    {
        return Err(AppError::BadRequest(format!("status: {s:?} is not pending, delivered or failed")));
    }
    let channel = c.channel().to_string();
    let deliveries = state.db.call(move |s| s.webhook_deliveries(&channel, &id, q.status.as_deref(), 500)).await?;
    Ok(Json(DeliveryList { deliveries }))
}

/// Resume a paused endpoint and deliver its failed deliveries again, same ids, in order (admin).
#[utoipa::path(post, path = "/v1/counsel/webhooks/{id}/replay", tag = "webhooks", params(("id" = String, Path, description = "Endpoint id")), security(("api_key" = [])),
    responses((status = 200, body = ReplayResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn replay(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Path(id): Path<String>) -> Res<ReplayResult> {
    let c = caller(&state, peer, &headers, Scope::Admin).await?;
    let (channel, now) = (c.channel().to_string(), now_ms());
    let replayed = state.db.call(move |s| s.webhook_replay(&channel, &id, now)).await?.ok_or(AppError::NotFound)?;
    Ok(Json(ReplayResult { replayed }))
}
