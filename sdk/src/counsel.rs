//! The Counsel API: what a contact centre's own system, a bot or a CRM sends and receives under
//! `/v1/counsel/…` (with `Authorization: Bearer <api key>`), and the webhook events the gateway
//! posts to their endpoints. Errors are the [`ErrorBody`](crate::protocol::ErrorBody) of the rest
//! of the protocol. The gateway's OpenAPI document (`/v1/openapi.json`) is generated from these
//! types (feature `openapi`).

use serde::{Deserialize, Serialize};

use crate::protocol::{Body, ChatMessage, CloseReason, Receipts, SessionState, SessionSummary};

/// What an API key may do. `read`: sessions, messages, deliveries; `write`: replies and session
/// actions; `admin`: keys and webhook endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read sessions, messages and webhook deliveries.
    Read,
    /// Reply, take, assign, transfer, close, block.
    Write,
    /// Manage API keys and webhook endpoints.
    Admin,
}

impl Scope {
    /// Parses `read`, `write` or `admin`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// An API key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    /// Key id: the public prefix of the secret (`ck_<id>_…`).
    pub id: String,
    /// The one channel the key works.
    pub channel: String,
    /// A name for people (`crm`, `order-bot`).
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// The agent the key acts as for replies and takes (absent: a system key, which may send as
    /// the bot, assign, close and block but not write as an agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Created, Unix milliseconds.
    pub created_ms: u64,
    /// Last accepted use, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
    /// Revoked, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

/// `POST /v1/counsel/keys` body (admin scope): a new key for the caller's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A name for people.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Agent identity for replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// A key just created: the secret is shown this once; the gateway keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// The key.
    pub key: ApiKeyInfo,
    /// `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// API keys of the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyList {
    /// Newest first.
    pub keys: Vec<ApiKeyInfo>,
}

/// A page of sessions. Pass `next_cursor` back as `cursor` for the next page; absent on the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionPage {
    /// Sessions, oldest first (a user's history: newest first).
    pub sessions: Vec<SessionSummary>,
    /// Cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One session in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDetail {
    /// Entry point (verified and declared apart), membership, user key, current page, assignment.
    pub session: SessionSummary,
    /// Why it closed, once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    /// Send results: how far the visitor has received and read the conversation.
    pub receipts: Receipts,
}

/// A page of a session's messages after a `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// Messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when more messages follow the last one here: ask again with its `seq` as `after`.
    pub more: bool,
    /// Send results for these messages: a reply with `seq <= receipts.visitor_read_seq` was read,
    /// one with `seq <= receipts.visitor_delivered_seq` reached the visitor's socket,
    /// any other is stored and waits for the visitor to come back.
    pub receipts: Receipts,
}

/// `POST /v1/counsel/channel` body: switch the key's channel on or off. While off, every button
/// hides and new launches are refused; chats already open go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelSwitch {
    /// On (true) or off.
    pub enabled: bool,
    /// The switch's version as read (the desk always sends it); when given, a stale one is
    /// refused (`conflict`, 409). Absent: set regardless, for scripts that own the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `POST /v1/counsel/sessions/{id}/read` body: the outside system has read the visitor's
/// messages up to `seq` (the visitor sees "read").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadRequest {
    /// Highest read `seq` (higher than the conversation's last is taken as the last).
    pub seq: u64,
}

/// Whom a reply is written as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SendAs {
    /// The key's agent, into an open session assigned to that agent.
    #[default]
    Agent,
    /// The channel's bot, into an open session still with the bot.
    Bot,
}

/// `POST /v1/counsel/sessions/{id}/messages` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Required, 1 to 64 bytes: the same `client_id` sent again stores nothing new and answers
    /// with the first send's `seq`.
    pub client_id: String,
    /// Agent (default) or bot.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, as = "Option<SendAs>"))]
    pub sender: SendAs,
    /// Text, or an image or file uploaded with `POST /v1/counsel/uploads`.
    pub body: Body,
}

/// A reply stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendResult {
    /// The message's `seq` in the conversation.
    pub seq: u64,
}

/// `POST …/assign` and `…/transfer` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// Agent id.
    pub agent: String,
}

/// `POST …/handover` body: the bot hands the session to the agents' queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandoverRequest {
    /// Queue category (agents' skill), e.g. `orders`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `POST …/close` body (optional; empty closes the session).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// End the agent's part and give the chat back to the bot instead: the session stays open
    /// with the bot (`session.state_changed` to `bot`) and the visitor sees its menu again.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub to_bot: bool,
}

/// `POST …/block` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// 1 to 3650.
    pub days: u32,
    /// Why (kept with the block).
    pub reason: String,
}

/// `POST /v1/counsel/unblock` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UnblockRequest {
    /// The user key to unblock.
    pub user_key: String,
}

/// A session after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionResult {
    /// The session now.
    pub session: SessionSummary,
}

/// An attachment uploaded with `POST /v1/counsel/uploads`, to send by id in an image or file body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResult {
    /// Attachment id.
    pub attachment: String,
    /// MIME type sniffed from the content.
    pub mime: String,
    /// Bytes.
    pub size: u64,
    /// Display name.
    pub name: String,
}

/// A webhook endpoint of the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    /// Endpoint id.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Event types delivered (`*`: all).
    pub events: Vec<String>,
    /// `config` (from the configuration file) or `api`.
    pub source: String,
    /// Paused since (Unix ms): nothing is delivered until it is resumed with `…/replay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_ms: Option<u64>,
    /// Why it was paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// Deliveries waiting (pending).
    pub pending: u64,
    /// Deliveries given up.
    pub failed: u64,
}

/// `POST /v1/counsel/webhooks` body (admin scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Target URL (https, or http where the configuration allows it).
    pub url: String,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
    /// `whsec_…` secret; generated when absent. Several, space-separated, during a rotation: every
    /// delivery carries one signature per secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// An endpoint just created, with its secret shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret(s).
    pub secret: String,
}

/// Webhook endpoints of the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookList {
    /// Endpoints.
    pub endpoints: Vec<WebhookEndpoint>,
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryInfo {
    /// The `webhook-id` header: the same across retries.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// Session, when the event is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// What went wrong last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Written to the outbox, Unix ms.
    pub created_ms: u64,
    /// Next attempt, Unix ms (pending only).
    pub next_ms: u64,
}

/// Deliveries of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    /// Oldest first.
    pub deliveries: Vec<DeliveryInfo>,
}

/// `POST /v1/counsel/webhooks/{id}/replay`: failed deliveries queued again, endpoint resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayResult {
    /// Deliveries queued again.
    pub replayed: u64,
}

/// Every webhook event type.
pub const EVENT_TYPES: &[&str] =
    &["session.opened", "message.created", "message.status", "session.state_changed", "session.page_changed", "attachment.created"];

/// A webhook delivery's body (Standard Webhooks layout: `type`, `timestamp`, `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    /// Channel.
    pub channel: String,
    /// When the change was stored, RFC 3339.
    pub timestamp: String,
    /// The event.
    #[serde(flatten)]
    pub event: WebhookEvent,
}

/// A webhook event: `type` and its `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data")]
pub enum WebhookEvent {
    /// The visitor's first message opened a session.
    #[serde(rename = "session.opened")]
    SessionOpened(SessionOpened),
    /// A message was stored (visitor, agent, bot or system).
    #[serde(rename = "message.created")]
    MessageCreated(MessageCreated),
    /// Send results moved on: replies reached the visitor's socket or were read.
    #[serde(rename = "message.status")]
    MessageStatus(MessageStatus),
    /// bot → queued → assigned → closed (with reason); assigned → assigned on a transfer.
    #[serde(rename = "session.state_changed")]
    StateChanged(StateChanged),
    /// The visitor's declared page changed.
    #[serde(rename = "session.page_changed")]
    PageChanged(PageChanged),
    /// An attachment was uploaded by the visitor.
    #[serde(rename = "attachment.created")]
    AttachmentCreated(AttachmentCreated),
}

impl WebhookEvent {
    /// The event type's name (`message.created`…).
    pub fn type_name(&self) -> &'static str {
        match self {
            WebhookEvent::SessionOpened(_) => "session.opened",
            WebhookEvent::MessageCreated(_) => "message.created",
            WebhookEvent::MessageStatus(_) => "message.status",
            WebhookEvent::StateChanged(_) => "session.state_changed",
            WebhookEvent::PageChanged(_) => "session.page_changed",
            WebhookEvent::AttachmentCreated(_) => "attachment.created",
        }
    }
}

/// `session.opened` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionOpened {
    /// Entry point (verified and declared apart), membership, user key, page, state.
    pub session: SessionSummary,
}

/// `message.created` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageCreated {
    /// Session id.
    pub session: String,
    /// User key.
    pub user_key: String,
    /// The message.
    pub message: ChatMessage,
    /// When the visitor tapped a menu option rather than typing: the option's id (the message's
    /// text is its label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
}

/// `message.status` data: the conversation's marks after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageStatus {
    /// Session id.
    pub session: String,
    /// User key.
    pub user_key: String,
    /// Delivered and read marks (`seq`).
    pub receipts: Receipts,
}

/// `session.state_changed` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateChanged {
    /// Session id.
    pub session: String,
    /// State before.
    pub from: SessionState,
    /// State now.
    pub to: SessionState,
    /// Assigned agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Queue category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Why it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloseReason>,
}

/// `session.page_changed` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageChanged {
    /// Session id.
    pub session: String,
    /// The page declared now (unverified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// `attachment.created` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentCreated {
    /// The open session of the visitor's conversation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Attachment id.
    pub attachment: String,
    /// Sniffed MIME type.
    pub mime: String,
    /// Display name.
    pub name: String,
    /// Bytes.
    pub size: u64,
}

/// Error codes of the Counsel API beyond the protocol's.
pub mod codes {
    /// The API key is missing, unknown or revoked (401).
    pub const BAD_API_KEY: &str = "bad_api_key";
    /// The key lacks the scope this call needs (403).
    pub const MISSING_SCOPE: &str = "missing_scope";
    /// The key has no agent identity, needed to write as an agent or take (403).
    pub const NO_AGENT: &str = "no_agent";
    /// A bot reply into a session that is not open with the bot (409).
    pub const NOT_WITH_BOT: &str = "not_with_bot";
}
