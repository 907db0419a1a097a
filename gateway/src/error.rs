//! One error type for every refusal: a stable `{code, message}` body and an HTTP status. Causes of
//! internal failures are logged, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consult_sdk::VerifyError;
use consult_sdk::protocol::ErrorBody;

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
    /// Too many requests from one address.
    #[error("too many requests; wait a moment and try again")]
    RateLimited,
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
    /// A rule of the chat refused a message (text length, empty…).
    #[error("{}", .0.message)]
    Message(ErrorBody),
    /// Storage failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl AppError {
    /// Stable machine-readable code.
    pub fn code(&self) -> String {
        match self {
            AppError::Verify(e) => e.code(),
            AppError::OriginNotAllowed(_) => "origin_not_allowed",
            AppError::ChannelDisabled => "channel_disabled",
            AppError::Blocked => "blocked",
            AppError::ClosedAfterHours(_) => "closed_after_hours",
            AppError::RateLimited => "rate_limited",
            AppError::HandoffUsed => "handoff_used",
            AppError::UnknownChannel(_) => "unknown_channel",
            AppError::BadRequest(_) => "bad_request",
            AppError::TooLarge(_) => "too_large",
            AppError::UnsupportedType(_) => "unsupported_type",
            AppError::UnknownSession => "unknown_session",
            AppError::Unauthorized => "unauthorized",
            AppError::NotFound => "not_found",
            AppError::AgentWrite(AgentWriteError::NotOpen) => "session_not_open",
            AppError::AgentWrite(AgentWriteError::NotAssigned) => "not_assigned",
            AppError::AgentWrite(AgentWriteError::UnknownSession) => "unknown_session",
            AppError::AgentFull(_) => "agent_full",
            AppError::Message(b) => return b.code.clone(),
            AppError::Store(_) => "internal",
        }
        .into()
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Verify(VerifyError::TooLarge { .. }) | AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Verify(VerifyError::Malformed(_)) | AppError::BadRequest(_) | AppError::Message(_) => StatusCode::BAD_REQUEST,
            AppError::Verify(_) | AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::OriginNotAllowed(_) | AppError::ChannelDisabled | AppError::Blocked => StatusCode::FORBIDDEN,
            AppError::ClosedAfterHours(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::HandoffUsed => StatusCode::GONE,
            AppError::UnknownChannel(_) | AppError::UnknownSession | AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::AgentWrite(_) | AppError::AgentFull(_) => StatusCode::CONFLICT,
            AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body clients see.
    pub fn body(&self) -> ErrorBody {
        if let AppError::Store(cause) = self {
            tracing::error!(error = %cause, "storage failed");
        }
        ErrorBody { code: self.code(), message: self.to_string() }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
