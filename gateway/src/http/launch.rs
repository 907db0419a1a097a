//! `POST /v1/launch` and `GET /v1/channels/{id}/status`.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use consult_sdk::protocol::{ChannelInfo, ChannelStatus, EntryView, LaunchRequest, LaunchResponse};
use consult_sdk::{KeySet, Kind, RawToken, VerifyError};

use crate::config::Channel;
use crate::hours::AfterHours;
use crate::error::AppError;
use crate::identity::{Identity, is_visitor_key, new_visitor_key, user_key};
use crate::store::LaunchContext;
use crate::{AppState, now_ms};

/// Largest launch body.
const MAX_LAUNCH_BODY: usize = 16 * 1024;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/launch", post(launch).options(preflight).layer(axum::extract::DefaultBodyLimit::max(MAX_LAUNCH_BODY)))
        .route("/v1/channels/{id}/status", get(status).options(preflight))
        .route("/v1/channels/{id}/logo", get(logo))
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let list = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).unwrap_or_default();
    list.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*")
}

/// The channel's logo, as an image only: an SVG gets a CSP that runs nothing and loads nothing,
/// should someone open it as a page.
async fn logo(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(logo) = state.config().channel(&id).and_then(|c| c.brand.logo.clone()) else {
        return AppError::NotFound.into_response();
    };
    let mut r = if etag_matches(&headers, &logo.etag) { StatusCode::NOT_MODIFIED.into_response() } else { logo.bytes.into_response() };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(logo.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    if let Ok(v) = HeaderValue::from_str(&logo.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    r
}

/// The channel's status at `now` (Unix seconds); `enabled` is its switch (see
/// [`crate::core::Core::channel_status`]).
pub fn channel_status(channel: &Channel, enabled: bool, now: u64) -> ChannelStatus {
    let open_now = channel.hours.as_ref().is_none_or(|h| h.is_open(now));
    ChannelStatus {
        enabled,
        open_now,
        next_opening: channel.hours.as_ref().and_then(|h| h.next_opening(now)),
        after_hours_message: channel.hours.as_ref().filter(|_| !open_now).map(|h| h.message.clone()),
        color: channel.brand.color.clone(),
        // The version in the query lets a new file show at once despite the cache headers.
        logo: channel.brand.logo.as_ref().map(|l| format!("/v1/channels/{}/logo?v={}", channel.id, l.etag.trim_matches('"'))),
    }
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase)
}

/// CORS headers for an origin the channel allows (the chat frame is same-origin and needs none).
fn with_cors(mut response: Response, origin: Option<&str>) -> Response {
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    response
}

async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let origin = origin_of(&headers);
    let allowed = origin.as_deref().filter(|o| state.config().channels.iter().any(|c| c.allowed_origins.iter().any(|a| a == o)));
    let mut r = with_cors(StatusCode::NO_CONTENT.into_response(), allowed);
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    r
}

async fn status(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(channel) = state.core.live_channel(&id) else {
        return AppError::UnknownChannel(id).into_response();
    };
    let origin = origin_of(&headers);
    let allowed = origin.as_deref().filter(|o| channel.allowed_origins.iter().any(|a| a == o));
    let mut r = with_cors(Json(state.core.channel_status(&channel, now_ms() / 1000)).into_response(), allowed);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn launch(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = origin_of(&headers);
    let client = state.client_ip(peer, &headers);
    let result = if let Err(wait) = state.limits.requests.check(&client) {
        state.core.metrics.rate_limited();
        Err(AppError::RateLimited(wait))
    } else if body.len() > MAX_LAUNCH_BODY {
        Err(AppError::TooLarge(format!("launch body is {} bytes; at most {MAX_LAUNCH_BODY}", body.len())))
    } else {
        match serde_json::from_slice::<LaunchRequest>(&body) {
            Ok(req) => do_launch(&state, &headers, req).await,
            Err(e) => Err(AppError::BadRequest(format!("launch body is not a launch request: {e}"))),
        }
    };
    match result {
        Ok((response, cors)) => {
            state.core.metrics.launch("ok");
            with_cors(Json(response).into_response(), cors.as_deref())
        }
        Err(e) => {
            state.core.metrics.launch(&e.code());
            // Counted always; logged once per address per minute, so a flood can't flood the log.
            if state.limits.should_log(client) {
                tracing::info!(code = %e.code(), error = %e, %client, "launch refused (further refusals from this address are counted, not logged, for a minute)");
            }
            // Refusals still carry CORS for allowed origins so the page can read the reason.
            let allowed = origin.filter(|o| state.config().channels.iter().any(|c| c.allowed_origins.contains(o)));
            with_cors(e.into_response(), allowed.as_deref())
        }
    }
}

/// Origin rule: from the gateway's own chat frame, `host_origin` (when given) must be allowed;
/// from anywhere else, the HTTP `Origin` itself must be. Returns the origin to echo for CORS.
fn check_origin(state: &AppState, headers: &HeaderMap, channel: &Channel, host_origin: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(origin) = origin_of(headers) else {
        return Err(AppError::OriginNotAllowed("(none: launches must come from a web page)".into()));
    };
    let allowed = |o: &str| channel.allowed_origins.iter().any(|a| a.eq_ignore_ascii_case(o));
    if state.own_origin(headers).as_deref() == Some(origin.as_str()) {
        return match host_origin {
            Some(h) if !allowed(h) => Err(AppError::OriginNotAllowed(h.into())),
            // Absent: a full-page launch (QR code, link); frame-ancestors keeps /chat to allowed hosts.
            _ => Ok(None),
        };
    }
    if allowed(&origin) { Ok(Some(origin)) } else { Err(AppError::OriginNotAllowed(origin)) }
}

/// The channel as it is now (hours, guidance and menu as admins set them), if switched on.
fn channel_or_err(state: &AppState, id: &str) -> Result<std::sync::Arc<Channel>, AppError> {
    let channel = state.core.live_channel(id).ok_or_else(|| AppError::UnknownChannel(id.into()))?;
    if !state.core.channel_enabled(&channel) {
        return Err(AppError::ChannelDisabled);
    }
    Ok(channel)
}

async fn do_launch(state: &AppState, headers: &HeaderMap, req: LaunchRequest) -> Result<(LaunchResponse, Option<String>), AppError> {
    let now_ms = now_ms();
    let now = now_ms / 1000;
    let codes = [&req.token, &req.printed, &req.handoff].iter().filter(|c| c.is_some()).count();
    if codes > 1 {
        return Err(AppError::BadRequest("send only one of token, printed or handoff".into()));
    }
    req.declared.validate().map_err(|e| AppError::BadRequest(format!("declared entry point: {e}")))?;
    let visitor_key = req.visitor_key.clone().filter(|k| is_visitor_key(k)).unwrap_or_else(new_visitor_key);

    if let Some(digits) = &req.handoff {
        return handoff_launch(state, headers, &req, digits, visitor_key, now_ms).await;
    }

    let (channel, claims, via) = if let Some(digits) = &req.printed {
        let raw = RawToken::from_digits(digits).map_err(VerifyError::from)?;
        let channel = channel_or_err(state, &raw.claims.channel)?;
        (channel, Some((raw, Kind::Printed)), "printed")
    } else {
        let channel = channel_or_err(state, &req.channel)?;
        let raw = match &req.token {
            Some(t) => {
                let raw = RawToken::from_text(t).map_err(VerifyError::from)?;
                // Named before the key lookup: another channel's key is not "unknown", it is elsewhere.
                if raw.claims.channel != channel.id {
                    return Err(VerifyError::WrongChannel { expected: channel.id.clone(), found: raw.claims.channel }.into());
                }
                Some((raw, Kind::Button))
            }
            None => None,
        };
        (channel, raw, "button")
    };
    let cors = check_origin(state, headers, &channel, req.host_origin.as_deref())?;
    let claims = match claims {
        Some((raw, kind)) => Some(channel.keys.verify_raw(raw, &channel.id, kind, now)?),
        None => None,
    };
    let member = claims.as_ref().and_then(|c| c.member.clone());
    let secret = state.secret(&channel.id, "user_key").await?;
    let user_key = match &member {
        Some(m) => user_key(&secret, Identity::Member(&m.id)),
        None => user_key(&secret, Identity::Visitor(&visitor_key)),
    };
    let context = LaunchContext {
        entry: EntryView {
            verified: claims.as_ref().map(|c| c.entry.clone()).filter(|e| !e.is_empty()),
            declared: Some(req.declared.clone()).filter(|e| !e.is_empty()),
            via: via.into(),
        },
        member,
    };
    if let Some(h) = channel.hours.as_ref().filter(|h| h.after_hours == AfterHours::Refuse && !h.is_open(now)) {
        return Err(AppError::ClosedAfterHours(h.reply(now)));
    }
    // The welcome line follows the button the visitor pressed: signed if it was, else as declared.
    let entry = &context.entry;
    let button = entry.verified.as_ref().and_then(|e| e.button.clone()).or_else(|| entry.declared.as_ref().and_then(|e| e.button.clone()));
    let (channel_id, uk) = (channel.id.clone(), user_key.clone());
    let handle = state
        .run(move |_, store| {
            if store.is_blocked(&channel_id, &uk, now_ms)? {
                return Err(AppError::Blocked);
            }
            Ok(store.launch(&channel_id, &uk, &context, now_ms)?)
        })
        .await?;
    tracing::debug!(channel = %channel.id, via, verified = claims.is_some(), user_key = %user_key, "launch");
    Ok((
        LaunchResponse { session: handle, visitor_key, channel: channel_info(&channel, button.as_deref(), now), verified: claims.is_some() },
        cors,
    ))
}

/// What a launch tells the chat about its channel (only ever launched while switched on), with
/// the welcome line of the entry point it came from.
fn channel_info(channel: &Channel, button: Option<&str>, now: u64) -> ChannelInfo {
    ChannelInfo {
        id: channel.id.clone(),
        name: channel.name.clone(),
        guidance: channel.shown_guidance(),
        status: channel_status(channel, true, now),
        welcome: channel.brand.welcome_for(button),
    }
}

/// The phone takes over the desktop's conversation: single use, bound to the desktop handle.
async fn handoff_launch(
    state: &AppState,
    headers: &HeaderMap,
    req: &LaunchRequest,
    digits: &str,
    visitor_key: String,
    now_ms: u64,
) -> Result<(LaunchResponse, Option<String>), AppError> {
    let raw = RawToken::from_digits(digits).map_err(VerifyError::from)?;
    let channel = channel_or_err(state, &raw.claims.channel)?;
    let cors = check_origin(state, headers, &channel, req.host_origin.as_deref())?;
    let key = state.handoff_key(&channel.id).await?;
    let mut keys = KeySet::new();
    keys.add(key.public_key());
    let claims = keys.verify_raw(raw, &channel.id, Kind::Handoff, now_ms / 1000)?;
    let channel_id = channel.id.clone();
    let (handle, conversation) = state
        .run(move |core, store| {
            let Some((old, new, conv)) = store.handoff_use(claims.serial, now_ms)? else {
                return Err(AppError::HandoffUsed);
            };
            if conv.channel != channel_id {
                return Err(AppError::HandoffUsed);
            }
            core.publish(vec![crate::rules::Event::HandedOff { conversation: conv.id.clone(), handle: old }]);
            if store.is_blocked(&conv.channel, &conv.user_key, now_ms)? {
                return Err(AppError::Blocked);
            }
            Ok((new, conv))
        })
        .await?;
    tracing::info!(channel = %channel.id, conversation = %conversation.id, "handoff taken over");
    Ok((
        LaunchResponse { session: handle, visitor_key, channel: channel_info(&channel, None, now_ms / 1000), verified: true },
        cors,
    ))
}
