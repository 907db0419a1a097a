//! The chat frame (`/chat`, `/l/…`, `/P/…`, `/H/…`), the widget's built assets (`/widget/…`)
//! and the agent desk (`/desk`).

use std::path::Path as FsPath;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;

const NOT_BUILT: &str = "widget assets not built; run cargo xtask build-widget";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget/{file}", get(widget_file))
        .route("/chat", get(chat_frame))
        .route("/l/{channel}", get(full_page))
        .route("/P/{code}", get(full_page))
        .route("/p/{code}", get(full_page))
        .route("/H/{code}", get(full_page))
        .route("/h/{code}", get(full_page))
        .route("/desk", get(desk))
        .route("/desk/{file}", get(desk_file))
}

/// Content type by file extension, for every static file the gateway and the demo serve.
pub fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A typed 404 that keeps its reason (a plain-text one would be rewritten to a bare "not found"
/// by [`crate::error::typed_errors`], losing how to build the widget).
fn not_found(why: &'static str) -> Response {
    let body = consult_sdk::protocol::ErrorBody { code: consult_sdk::protocol::codes::NOT_FOUND.into(), message: why.into() };
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// Refuses names that could leave the assets dir, and tells a missing build apart.
fn check_asset(dir: &FsPath, file: &str) -> Result<(), &'static str> {
    let safe = !file.is_empty() && !file.starts_with('.') && file.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !safe {
        return Err("not found");
    }
    if !dir.is_dir() {
        return Err(NOT_BUILT);
    }
    Ok(())
}

/// Reads a file of the assets dir, telling a missing build apart from a missing file.
async fn read_asset(dir: &FsPath, file: &str) -> Result<Vec<u8>, Response> {
    check_asset(dir, file).map_err(not_found)?;
    tokio::fs::read(dir.join(file)).await.map_err(|_| not_found("not found"))
}

#[derive(Deserialize)]
struct AssetQuery {
    /// The content hash, for immutable caching.
    v: Option<String>,
}

async fn widget_file(State(state): State<AppState>, Path(file): Path<String>, Query(q): Query<AssetQuery>, headers: HeaderMap) -> Response {
    let dir = &state.config().assets_dir;
    if let Err(why) = check_asset(dir, &file) {
        return not_found(why);
    }
    let content_type = content_type(&file);
    let asset = match state.assets.get(dir.join(&file), content_type).await {
        Ok(a) => a,
        Err(_) => return not_found("not found"),
    };
    let mut r = super::assets::respond(&asset, &headers, content_type, q.v.as_deref());
    if file == "consult.js" {
        r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    r
}

#[derive(Deserialize)]
struct ChatQuery {
    channel: Option<String>,
}

fn host(headers: &HeaderMap) -> String {
    headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(|h| !h.contains([' ', ';', '\''])).unwrap_or("localhost").to_string()
}

async fn chat_html(state: &AppState, headers: &HeaderMap, frame_ancestors: &str) -> Response {
    let data = match read_asset(&state.config().assets_dir, "chat.html").await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let host = host(headers);
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self' ws://{host} wss://{host}; frame-ancestors {frame_ancestors}"
    );
    let mut r = data.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

async fn chat_frame(State(state): State<AppState>, Query(q): Query<ChatQuery>, headers: HeaderMap) -> Response {
    let origins = q.channel.as_deref().and_then(|c| state.config().channel(c)).map(|c| c.allowed_origins.join(" ")).unwrap_or_default();
    let ancestors = if origins.is_empty() { "'none'".to_string() } else { origins };
    chat_html(&state, &headers, &ancestors).await
}

async fn full_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    chat_html(&state, &headers, "'none'").await
}

async fn desk(headers: HeaderMap) -> Response {
    let host = host(&headers);
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'"
    );
    let mut r = include_str!("../../desk/desk.html").into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// The desk's scripts and style, compiled in (the desk is plain JS in `gateway/desk/`).
const DESK_FILES: &[(&str, &str)] = &[
    ("i18n.js", include_str!("../../desk/i18n.js")),
    ("view.js", include_str!("../../desk/view.js")),
    ("dialog.js", include_str!("../../desk/dialog.js")),
    ("notify.js", include_str!("../../desk/notify.js")),
    ("render.js", include_str!("../../desk/render.js")),
    ("ops.js", include_str!("../../desk/ops.js")),
    ("desk.js", include_str!("../../desk/desk.js")),
    ("desk.css", include_str!("../../desk/desk.css")),
];

async fn desk_file(Path(file): Path<String>) -> Response {
    match DESK_FILES.iter().find(|(name, _)| *name == file) {
        Some((name, body)) => ([(header::CONTENT_TYPE, content_type(name)), (header::CACHE_CONTROL, "no-cache")], *body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
