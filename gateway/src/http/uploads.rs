//! `POST /v1/uploads` and `GET /v1/attachments/{id}`: photos and files, typed by content.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use axum::body::Bytes;
use consult_sdk::counsel::AttachmentCreated;
use consult_sdk::protocol::{MAX_FILE_BYTES, MAX_IMAGE_BYTES};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::identity::random_id;
use crate::store::{Attachment, AttachmentBytes, Store};
use crate::{AppState, now_ms};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/uploads", post(upload).layer(DefaultBodyLimit::disable()))
        .route("/v1/attachments/{id}", get(download))
}

#[derive(Deserialize)]
struct UploadQuery {
    session: Option<String>,
    name: Option<String>,
}

/// Upload answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Uploaded {
    /// Attachment id for an image or file body.
    pub attachment: String,
    /// Sniffed MIME type.
    pub mime: String,
    /// Bytes.
    pub size: u64,
    /// Display name.
    pub name: String,
}

/// The type of a file from its first bytes; `None` for anything not accepted.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    const TYPES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
    ];
    if let Some((_, mime)) = TYPES.iter().find(|(magic, _)| data.starts_with(magic)) {
        return Some(mime);
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    let is_text = std::str::from_utf8(data).is_ok_and(|t| !t.is_empty() && !t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
    is_text.then_some("text/plain; charset=utf-8")
}

pub(crate) fn clean_name(name: Option<String>) -> String {
    let name: String = name.unwrap_or_default().chars().filter(|c| !c.is_control() && !matches!(c, '/' | '\\')).take(120).collect();
    if name.trim().is_empty() { "file".into() } else { name }
}

async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    request: Request,
) -> Result<Json<Uploaded>, AppError> {
    if let Err(wait) = state.limits.requests.check(&state.client_ip(peer, &headers)) {
        state.core.metrics.rate_limited();
        return Err(AppError::RateLimited(wait));
    }
    if q.session.is_some() {
        return Err(AppError::BadRequest("send the session handle in the x-consult-session header, never in the URL".into()));
    }
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let handle = headers.get("x-consult-session").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (visitor, agent) = match (handle, bearer) {
        (Some(handle), _) => (Some(crate::http::visitor::resolve_visitor(&state, handle).await?), None),
        (None, Some(token)) => (None, Some(super::agent::agent_for_token(&state, token).await?.ok_or(AppError::Unauthorized)?)),
        (None, None) => return Err(AppError::Unauthorized),
    };
    let (data, mime) = read_upload(request).await?;
    let name = clean_name(q.name.or_else(|| headers.get("x-file-name").and_then(|v| v.to_str().ok()).map(Into::into)));
    let conversation = visitor.as_ref().map(|c| c.id.clone());
    // A visitor's upload reports `attachment.created` in the same job (one transaction) as its row.
    let a = store_upload(&state, conversation, agent, mime, name, data, move |s, a, now| match visitor {
        Some(conv) => {
            let event = AttachmentCreated { session: None, attachment: a.id.clone(), mime: a.mime.clone(), name: a.name.clone(), size: a.size };
            crate::counsel::attachment_created(s, &conv.channel, &conv.id, event, now)
        }
        None => Ok(()),
    })
    .await?;
    Ok(Json(Uploaded { attachment: a.id, mime: a.mime, size: a.size, name: a.name }))
}

/// An upload's body, checked: at most [`MAX_FILE_BYTES`] ([`MAX_IMAGE_BYTES`] for an image), of a
/// type [`sniff`] accepts. Returns the bytes and their type.
pub(crate) async fn read_upload(request: Request) -> Result<(Bytes, &'static str), AppError> {
    let data = axum::body::to_bytes(request.into_body(), MAX_FILE_BYTES)
        .await
        .map_err(|_| AppError::TooLarge(format!("files may be at most {} MB", MAX_FILE_BYTES / 1024 / 1024)))?;
    let mime = sniff(&data).ok_or_else(|| {
        AppError::UnsupportedType("this file type is not accepted; send PNG, JPEG, GIF, WebP, PDF, ZIP or plain text".into())
    })?;
    if mime.starts_with("image/") && data.len() > MAX_IMAGE_BYTES {
        return Err(AppError::TooLarge(format!("images may be at most {} MB", MAX_IMAGE_BYTES / 1024 / 1024)));
    }
    Ok((data, mime))
}

/// Stores a checked upload: its bytes in the blob store first (durably), then its row, with
/// `also` in the same job (one transaction). A row that is refused takes its blob back with it;
/// a crash between the two leaves an orphan blob, never a row without bytes.
pub(crate) async fn store_upload(
    state: &AppState,
    conversation: Option<String>,
    agent: Option<String>,
    mime: &str,
    name: String,
    data: Bytes,
    also: impl FnOnce(&mut dyn Store, &Attachment, u64) -> Result<(), AppError> + Send + 'static,
) -> Result<Attachment, AppError> {
    let id = random_id("a");
    let hashed = data.clone();
    let sha256 = tokio::task::spawn_blocking(move || crate::blob::sha256_hex(&hashed)).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let size = data.len();
    state.blobs.put(&id, data).await?;
    let a = Attachment { id: id.clone(), conversation, agent, mime: mime.into(), name, size: size as u64, sha256, bytes: AttachmentBytes::Blob(id.clone()) };
    let row = a.clone();
    let stored = state
        .run(move |_, s| {
            let now = now_ms();
            s.put_attachment(&row, now)?;
            also(s, &row, now)
        })
        .await;
    if let Err(e) = stored {
        crate::blob::delete_all(state.blobs.as_ref(), &[id]).await;
        return Err(e);
    }
    state.core.metrics.upload(size);
    Ok(a)
}

async fn download(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let a = state.db.call(move |s| s.attachment(&id)).await?.ok_or(AppError::NotFound)?;
    // The bytes are read here, off the storage thread; older rows carry them inline.
    let data = match a.bytes {
        AttachmentBytes::Inline(data) => Bytes::from(data),
        AttachmentBytes::Blob(key) => state.blobs.get(&key).await?.ok_or_else(|| {
            tracing::error!(attachment = %a.id, key = %key, "attachment row without its bytes in the blob store");
            AppError::NotFound
        })?,
    };
    let disposition = if a.mime.starts_with("image/") {
        "inline".to_string()
    } else {
        format!("attachment; filename*=UTF-8''{}", consult_sdk::launch::encode_component(&a.name))
    };
    let mut r = HttpBody::from(data).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&a.mime).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_comes_from_content_not_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"hello\n"), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"MZ\x90\x00\x03"), None, "an executable is refused whatever its name");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
    }
}
