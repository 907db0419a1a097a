//! Rows of the Counsel API's tables: API keys, webhook endpoints and the delivery outbox.

use consult_sdk::counsel::Scope;

/// A stored API key: only the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// Public id (the secret's prefix).
    pub id: String,
    /// The one channel it works.
    pub channel: String,
    /// Name for people.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Agent identity for replies and takes.
    pub agent: Option<String>,
    /// SHA-256 of the whole secret.
    pub hash: [u8; 32],
    /// Created, ms.
    pub created_ms: u64,
    /// Last accepted use, ms.
    pub last_used_ms: Option<u64>,
    /// Revoked, ms.
    pub revoked_ms: Option<u64>,
}

/// A webhook endpoint and its delivery counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    /// Id.
    pub id: String,
    /// Channel.
    pub channel: String,
    /// Target URL.
    pub url: String,
    /// `whsec_` secrets, space-separated.
    pub secret: String,
    /// Event types (`*`: all).
    pub events: Vec<String>,
    /// `config` or `api`.
    pub source: String,
    /// Paused since, ms.
    pub paused_ms: Option<u64>,
    /// Why.
    pub paused_reason: Option<String>,
    /// Pending deliveries (filled when listing).
    pub pending: u64,
    /// Failed deliveries (filled when listing).
    pub failed: u64,
}

/// A delivery whose turn has come: the head of its (endpoint, session) line, due, endpoint not paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// Outbox order.
    pub n: i64,
    /// `webhook-id`.
    pub id: String,
    /// Endpoint id.
    pub endpoint: String,
    /// Target URL.
    pub url: String,
    /// Secrets.
    pub secret: String,
    /// The exact body, as written with the change.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Written, ms.
    pub created_ms: u64,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered,
    /// Failed; try again at `next_ms`.
    Retry {
        /// Next attempt, ms.
        next_ms: u64,
        /// HTTP status, if any answer came.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Failed for too long: given up (listed, replayable); the caller pauses the endpoint.
    GiveUp {
        /// HTTP status, if any answer came.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
}
