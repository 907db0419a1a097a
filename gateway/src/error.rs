//! One error type for every refusal: a stable `{code, message}` body and an HTTP status. Causes of
//! internal failures are logged, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consult_sdk::VerifyError;
use consult_sdk::protocol::{ErrorBody, codes};

use crate::store::{AgentWriteError, StoreError};

/// Everything the gateway refuses, and its internal failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A token did not verify.
    #[error("{0}")]
    Verify(#[from] VerifyError),
    /// The page's origin may not launch this channel.
    #[error("origin {0} may not open this channel; add it to the channel's allowed_origins")]
    OriginNotAllowed(String),
    /// The channel is switched off.
    #[error("this channel is switched off")]
    ChannelDisabled,
    /// The user key is blocked.
    #[error("you cannot open a chat with this channel for now")]
    Blocked,
    /// Closed, and the channel refuses requests after hours.
    #[error("{0}")]
    ClosedAfterHours(String),
    /// Too many requests from one address, agent id or conversation; retry after this long.
    #[error("too many requests; wait {} s and try again", crate::ratelimit::retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    /// The gateway could not take the request in time; nothing was stored.
    #[error("the gateway is busy; nothing was stored, try again")]
    Busy,
    /// A handoff code was used already, or expired on the server.
    #[error("this handoff code was used already; start the handoff again on the desktop")]
    HandoffUsed,
    /// No such channel.
    #[error("no channel {0:?}")]
    UnknownChannel(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is too large.
    #[error("{0}")]
    TooLarge(String),
    /// The upload's content is of no accepted type.
    #[error("{0}")]
    UnsupportedType(String),
    /// The visitor handle is unknown or revoked.
    #[error("unknown or expired session handle; launch again")]
    UnknownSession,
    /// Missing or bad agent credentials.
    #[error("sign in again")]
    Unauthorized,
    /// Not found.
    #[error("not found")]
    NotFound,
    /// An agent write refused by the session rules.
    #[error("{0}")]
    AgentWrite(#[from] AgentWriteError),
    /// The target agent has no free chat slot.
    #[error("{0} has no free chat slot")]
    AgentFull(String),
    /// A Counsel API refusal with its own status and code (`bad_api_key`, `missing_scope`…).
    #[error("{2}")]
    Api(StatusCode, &'static str, String),
    /// The agent's role does not allow this; the message names what is needed.
    #[error("{0}")]
    Forbidden(String),
    /// A visitor rated this chat already.
    #[error("this chat was rated already")]
    AlreadyRated,
    /// An admin change sent a stale version: someone else changed it since it was read.
    #[error("{0} was changed by someone else since you read it; reload and try again")]
    Conflict(String),
    /// Channel settings (hours, guidance, menu) that break a rule; nothing was changed.
    #[error("{0}")]
    Settings(#[from] crate::settings::SettingErrors),
    /// A rule of the chat refused a message (text length, empty…).
    #[error("{}", .0.message)]
    Message(ErrorBody),
    /// Storage failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// The attachment store failed.
    #[error("internal error")]
    Blob(#[from] crate::blob::BlobError),
}

impl AppError {
    /// Stable machine-readable code.
    pub fn code(&self) -> String {
        match self {
            AppError::Verify(e) => e.code(),
            AppError::OriginNotAllowed(_) => codes::ORIGIN_NOT_ALLOWED,
            AppError::ChannelDisabled => codes::CHANNEL_DISABLED,
            AppError::Blocked => codes::BLOCKED,
            AppError::ClosedAfterHours(_) => codes::CLOSED_AFTER_HOURS,
            AppError::RateLimited(_) => codes::RATE_LIMITED,
            AppError::Busy => codes::BUSY,
            AppError::HandoffUsed => codes::HANDOFF_USED,
            AppError::UnknownChannel(_) => codes::UNKNOWN_CHANNEL,
            AppError::BadRequest(_) => codes::BAD_REQUEST,
            AppError::TooLarge(_) => codes::TOO_LARGE,
            AppError::UnsupportedType(_) => codes::UNSUPPORTED_TYPE,
            AppError::UnknownSession => codes::UNKNOWN_SESSION,
            AppError::Unauthorized => codes::UNAUTHORIZED,
            AppError::NotFound => codes::NOT_FOUND,
            AppError::AgentWrite(AgentWriteError::NotOpen) => codes::SESSION_NOT_OPEN,
            AppError::AgentWrite(AgentWriteError::NotAssigned) => codes::NOT_ASSIGNED,
            AppError::AgentWrite(AgentWriteError::UnknownSession) => codes::UNKNOWN_SESSION,
            AppError::AgentFull(_) => codes::AGENT_FULL,
            AppError::Api(_, code, _) => code,
            AppError::Forbidden(_) => codes::FORBIDDEN,
            AppError::AlreadyRated => codes::ALREADY_RATED,
            AppError::Conflict(_) => codes::CONFLICT,
            AppError::Settings(_) => codes::INVALID_SETTINGS,
            AppError::Message(b) => return b.code.clone(),
            AppError::Store(StoreError::Busy) => codes::BUSY,
            AppError::Store(e) if e.is_unreachable() => codes::UNAVAILABLE,
            AppError::Store(_) | AppError::Blob(_) => codes::INTERNAL,
        }
        .into()
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Verify(VerifyError::TooLarge { .. }) | AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Verify(VerifyError::Malformed(_)) | AppError::BadRequest(_) | AppError::Message(_) | AppError::Settings(_) => StatusCode::BAD_REQUEST,
            AppError::Verify(_) | AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::OriginNotAllowed(_) | AppError::ChannelDisabled | AppError::Blocked => StatusCode::FORBIDDEN,
            AppError::ClosedAfterHours(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy | AppError::Store(StoreError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(e) if e.is_unreachable() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::HandoffUsed => StatusCode::GONE,
            AppError::UnknownChannel(_) | AppError::UnknownSession | AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::AgentWrite(_) | AppError::AgentFull(_) | AppError::AlreadyRated | AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Api(status, _, _) => *status,
            AppError::Store(_) | AppError::Blob(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body clients see.
    pub fn body(&self) -> ErrorBody {
        if let AppError::Store(StoreError::Busy) = self {
            return ErrorBody { code: self.code(), message: AppError::Busy.to_string() };
        }
        if let AppError::Store(cause) = self {
            if cause.is_unreachable() {
                tracing::warn!(error = %cause, "the database is unreachable; answered unavailable");
                return ErrorBody { code: self.code(), message: "the database can't be reached right now; nothing was stored. Retry shortly.".into() };
            }
            tracing::error!(error = %cause, "storage failed");
        }
        if let AppError::Blob(cause) = self {
            tracing::error!(error = %cause, "attachment storage failed");
        }
        ErrorBody { code: self.code(), message: self.to_string() }
    }
}

impl AppError {
    /// Seconds a client should wait before retrying, for refusals that pass with time.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited(wait) => Some(crate::ratelimit::retry_after_secs(*wait)),
            AppError::Busy | AppError::Store(StoreError::Busy) => Some(1),
            AppError::Store(e) if e.is_unreachable() => Some(2),
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after();
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Any error response the gateway's routes or axum's extractors produce without the typed body
/// (an oversize body, a wrong method, an unknown path, a refused upgrade) gets it here, so every
/// error a client meets is `{code, message}` JSON.
pub async fn typed_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (codes::TOO_LARGE, "the request body is too large".to_string()),
        StatusCode::NOT_FOUND => (codes::NOT_FOUND, "not found".to_string()),
        StatusCode::UNAUTHORIZED => (codes::UNAUTHORIZED, "sign in again".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (codes::UNSUPPORTED_TYPE, "send JSON with content-type application/json".to_string()),
        StatusCode::TOO_MANY_REQUESTS => (codes::RATE_LIMITED, "too many requests; wait a moment and try again".to_string()),
        s if s.is_server_error() => (codes::INTERNAL, "internal error".to_string()),
        s => (codes::BAD_REQUEST, format!("bad request ({})", s.canonical_reason().unwrap_or("refused").to_ascii_lowercase())),
    };
    let mut typed = (status, Json(ErrorBody { code: code.into(), message })).into_response();
    for name in [axum::http::header::RETRY_AFTER, axum::http::header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            typed.headers_mut().insert(name, v.clone());
        }
    }
    typed
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_sdk::DecodeError;

    /// Every refusal a visitor can meet carries a code the protocol documents, so the widget can
    /// localize it.
    #[test]
    fn visitor_codes_are_all_documented() {
        let visitor_errors = [
            AppError::Verify(VerifyError::TooLarge { len: 1, max: 0 }),
            AppError::Verify(VerifyError::Malformed(DecodeError::Base64)),
            AppError::Verify(VerifyError::BadSignature),
            AppError::OriginNotAllowed("x".into()),
            AppError::ChannelDisabled,
            AppError::Blocked,
            AppError::ClosedAfterHours("x".into()),
            AppError::RateLimited(std::time::Duration::from_secs(1)),
            AppError::Busy,
            AppError::HandoffUsed,
            AppError::UnknownChannel("x".into()),
            AppError::BadRequest("x".into()),
            AppError::TooLarge("x".into()),
            AppError::UnsupportedType("x".into()),
            AppError::UnknownSession,
            AppError::Unauthorized,
            AppError::NotFound,
            AppError::Message(consult_sdk::protocol::check_text("").unwrap_err()),
            AppError::Store(StoreError::Stopped),
        ];
        for e in visitor_errors {
            assert!(codes::VISITOR.contains(&e.code().as_str()), "{} is not in protocol::codes::VISITOR", e.code());
        }
        for c in ["unknown_key", "expired", "not_yet_valid", "wrong_channel", "wrong_kind", "revoked"] {
            assert!(codes::VISITOR.contains(&c), "{c}");
        }
    }
}
