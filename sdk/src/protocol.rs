//! The Consult wire protocol, version 1: HTTP bodies, the visitor and agent WebSocket messages, and
//! the postMessage bridge between the host-page launcher and the chat frame. Both ends use these
//! types; JSON, `#[serde(tag = "type")]`, snake_case.
//!
//! Sessions and conversations: a visitor's handle (`LaunchResponse::session`) names a
//! *conversation*, the chat room of one `user_key` in one channel. Each open → close episode in it
//! is a consult *session* with its own id (`SessionSummary::id`), the unit agents work; when the
//! visitor writes after a close, a new session opens in the same conversation.
//!
//! Delivery: every stored message has a per-conversation `seq` (1, 2, …, gap-free), so resuming
//! works across sessions. A client resumes with the last `seq` it saw and gets the gap in order.
//! Every send carries a client-chosen `client_id`; the same `client_id` sent twice stores one
//! message and acknowledges both sends with the same `seq`.

use serde::{Deserialize, Serialize};

use crate::model::{EntryPoint, Membership};

/// Protocol version; a client sends it in `hello`, the server refuses versions it does not speak.
pub const PROTOCOL_VERSION: u16 = 1;
/// Longest text message, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Largest image upload, bytes.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Largest non-image file upload, bytes.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Longest client message id.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// `POST /v1/launch` body. Exactly one of `token` (button kind), `printed` or `handoff` (digits
/// forms) may be set; with none, the launch is anonymous with a declared entry point only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    /// Channel id.
    pub channel: String,
    /// Signed button token (text form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Printed entry code (digits form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed: Option<String>,
    /// Handoff code (digits form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<String>,
    /// Entry point declared by the page (unsigned, shown as unverified).
    #[serde(default, skip_serializing_if = "EntryPoint::is_empty")]
    pub declared: EntryPoint,
    /// The browser's anonymous visitor key from an earlier launch, if storage kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_key: Option<String>,
    /// Preferred UI language (`ko`, `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Origin of the host page that embeds the chat frame, as the frame read it from the
    /// launcher's `postMessage` event (`event.origin`, set by the browser). The gateway checks it
    /// against the channel's allowed origins when the request comes from its own chat frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_origin: Option<String>,
}

/// `POST /v1/launch` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LaunchResponse {
    /// Opaque visitor session handle: the bearer secret for the visitor socket and uploads.
    pub session: String,
    /// Anonymous visitor key to keep in browser storage (a fresh one when none was sent).
    pub visitor_key: String,
    /// The channel as the visitor sees it.
    pub channel: ChannelInfo,
    /// Whether the entry point and membership were signed.
    pub verified: bool,
}

/// The channel as shown to visitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelInfo {
    /// Channel id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Guidance message shown first; includes the retention/privacy notice.
    pub guidance: String,
    /// Current status.
    pub status: ChannelStatus,
    /// The channel's welcome line for this entry point, shown first in the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<String>,
}

/// `GET /v1/admin/agents`: an agent of the admin's channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentAccountInfo {
    /// Sign-in id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// Disabled by an admin: signed out and refused at sign-in.
    pub disabled: bool,
    /// Has a desk open now.
    pub online: bool,
    /// Channels worked (empty: every channel).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Bot categories taken from the queue.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Most chats at once.
    #[serde(default)]
    pub max_chats: u32,
    /// Team, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Send this back with a change; a stale one is refused (`conflict`).
    #[serde(default)]
    pub version: u64,
}

/// `POST /v1/admin/agents`: an admin creates an agent of their own channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AgentCreate {
    /// Sign-in id: 1-64 of a-z, 0-9, '-' or '_'.
    pub id: String,
    /// Display name.
    pub name: String,
    /// At least 10 characters.
    pub password: String,
    /// `agent` (default), `supervisor` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Channels worked, each one of the admin's.
    pub channels: Vec<String>,
    /// Bot categories taken from the queue.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Most chats at once, 1 to 100.
    pub max_chats: u32,
    /// Team, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `POST /v1/admin/agents/{id}`: disable or enable an agent, set a new password (at least 10
/// characters; either signs the agent out everywhere), or change skills, max chats or team.
/// `version` is the one read; a stale one is refused (`conflict`, 409).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AgentUpdate {
    /// Disable (true) or enable (false); absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A new password; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// New skills; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    /// New most chats at once; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chats: Option<u32>,
    /// New team (empty: none); absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The agent's version as read.
    pub version: u64,
}

/// `POST /v1/admin/canned`: save a canned answer (with `text`) or remove it (without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CannedEdit {
    /// `/shortcut`.
    pub shortcut: String,
    /// The text; absent removes the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The list's version as read; a stale one is refused (`conflict`, 409).
    pub version: u64,
}

/// `GET`/`POST /v1/admin/canned`: the canned answers and their version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CannedList {
    /// Send this back with a change.
    pub version: u64,
    /// The answers.
    pub answers: Vec<CannedAnswer>,
}

/// A channel's business hours as written: the `[channels.hours]` table of the configuration
/// file and the body an admin sends to change them at runtime, checked by the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct HoursSpec {
    /// IANA time zone (`Asia/Seoul`); UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `wait` (queue for the opening, the default) or `refuse` (no new chats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hours: Option<String>,
    /// What visitors read outside the hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hours_message: Option<String>,
    /// `mon` … `sun` → `"09:00-18:00"`, `"09:00-12:00,13:00-18:00"` or `"closed"`; a day left
    /// out is closed.
    #[serde(default)]
    pub days: std::collections::BTreeMap<String, String>,
    /// Whole days closed, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// One option of a bot menu as written (`[[channels.bot.options]]`, or an admin's change):
/// exactly one of `answer`, `url` or `category`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct MenuOptionSpec {
    /// 1-64 of a-z, 0-9, '-' or '_', unique in the menu.
    #[serde(default)]
    pub id: String,
    /// The button's label.
    #[serde(default)]
    pub label: String,
    /// An FAQ answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// A self-service link (`https://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Queue for an agent with this skill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Words that answer a typed message with this option (answer options only).
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A bot menu as written (`[channels.bot]`, or an admin's change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct MenuSpec {
    /// The line above the buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The buttons, at least one.
    #[serde(default)]
    pub options: Vec<MenuOptionSpec>,
    /// `queue` (the default: a typed message no keyword answers goes to a person) or `offer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
}

/// `GET`/`PUT /v1/admin/channels/{id}/hours` and `/v1/counsel/channel/hours`: a channel's
/// business hours and holidays. A change names the `version` read; a stale one is refused
/// (`conflict`, 409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChannelHours {
    /// 0 while the configuration file's hours hold.
    pub version: u64,
    /// `null`: always open.
    pub hours: Option<HoursSpec>,
}

/// `GET`/`PUT /v1/admin/channels/{id}/guidance` and `/v1/counsel/channel/guidance`: what a
/// visitor reads first. Both parts are required: the notice says how long chats are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChannelGuidance {
    /// 0 while the configuration file's guidance holds.
    pub version: u64,
    /// The greeting.
    pub guidance: String,
    /// The retention and privacy notice, shown under the greeting. Empty only for a file that
    /// keeps the notice inside `guidance`; a change must fill it.
    pub retention_notice: String,
}

/// `GET`/`PUT /v1/admin/channels/{id}/menu` and `/v1/counsel/channel/menu`: the bot menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChannelMenu {
    /// 0 while the configuration file's menu holds.
    pub version: u64,
    /// `null` when the channel has no bot menu (a change must send one).
    pub menu: Option<MenuSpec>,
}

/// `GET /v1/admin/channels`: one of the admin's channels and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelSummary {
    /// Channel id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Switched on or off, open by its hours.
    pub status: ChannelStatus,
    /// The switch's version: send it back with a switch.
    #[serde(default)]
    pub version: u64,
}

/// `GET /v1/channels/{id}/status`: what buttons need to decide whether and how to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelStatus {
    /// False when the service is switched off: every button hides.
    pub enabled: bool,
    /// Inside business hours now.
    pub open_now: bool,
    /// Next opening, Unix seconds, when closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_opening: Option<u64>,
    /// After-hours reply, when closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hours_message: Option<String>,
    /// The channel's colour (`#rrggbb`, white text on it at least 4.5:1) for buttons and the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The channel's logo on the gateway's own origin (`/v1/channels/{id}/logo?v=…`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
}

/// Error body of every HTTP error and of socket `error` events.
///
/// `message` is an English sentence for logs and developers; clients show visitors their own
/// localized text chosen by `code`. Every code the gateway can send to a visitor is a constant in
/// [`codes`] and listed in [`codes::VISITOR`]; a code never changes meaning once published.
///
/// | code | HTTP status | where |
/// |---|---|---|
/// | `too_large` | 413 | launch (body or token too long), upload (file over the limit) |
/// | `malformed` | 400 | launch: the token or code is not a token |
/// | `bad_request` | 400 | launch, upload, socket: malformed request (names the field) |
/// | `unknown_key` | 401 | launch: token signed by a key the channel does not know |
/// | `bad_signature` | 401 | launch: signature does not verify |
/// | `expired` | 401 | launch: token or code expired |
/// | `not_yet_valid` | 401 | launch: token issued in the future (clock skew) |
/// | `wrong_channel` | 401 | launch: token made for another channel |
/// | `wrong_kind` | 401 | launch: e.g. a handoff code entered as a printed code |
/// | `revoked` | 401 | launch: token serial revoked |
/// | `origin_not_allowed` | 403 | launch, status, visitor socket: page origin not allowed |
/// | `channel_disabled` | 403 | launch: the channel is switched off |
/// | `blocked` | 403 | launch: this visitor is blocked for now |
/// | `unknown_channel` | 404 | launch, status: no such channel |
/// | `unknown_session` | 404 | visitor socket, upload: handle unknown or revoked; launch again |
/// | `not_found` | 404 | attachment download |
/// | `handoff_used` | 410 | launch: handoff code used already |
/// | `unsupported_type` | 415 | upload: content type not accepted |
/// | `rate_limited` | 429 | launch, upload, socket sends: too many requests, retry later |
/// | `closed_after_hours` | 503 | launch, socket send: outside business hours and the channel refuses |
/// | `unauthorized` | 401 | upload without a session handle |
/// | `internal` | 500 | any: storage failed |
/// | `empty_message` | — | socket `error` for a send: text empty |
/// | `message_too_long` | — | socket `error` for a send: over [`MAX_TEXT_CHARS`] |
/// | `unsupported_version` | — | socket `error` answering `hello`: protocol version not spoken |
/// | `hello_first` | — | socket `error`: first frame was not `hello` |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code, one of [`codes`] (`expired`, `origin_not_allowed`, `blocked`,
    /// `rate_limited`…).
    pub code: String,
    /// A sentence for people (English; clients localize by `code`).
    pub message: String,
}

/// Stable error codes of [`ErrorBody::code`] and of socket `error` events. See [`ErrorBody`] for the
/// HTTP status and where each is sent.
pub mod codes {
    /// Launch body, token or upload too large (413).
    pub const TOO_LARGE: &str = "too_large";
    /// Token or code is not a token (400).
    pub const MALFORMED: &str = "malformed";
    /// Malformed request; the message names the field (400).
    pub const BAD_REQUEST: &str = "bad_request";
    /// Token signed by an unknown key id (401).
    pub const UNKNOWN_KEY: &str = "unknown_key";
    /// Signature does not verify (401).
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// Token or code expired (401).
    pub const EXPIRED: &str = "expired";
    /// Token issued in the future (401).
    pub const NOT_YET_VALID: &str = "not_yet_valid";
    /// Token for another channel (401).
    pub const WRONG_CHANNEL: &str = "wrong_channel";
    /// Token of another kind than the form it came in (401).
    pub const WRONG_KIND: &str = "wrong_kind";
    /// Token serial revoked (401).
    pub const REVOKED: &str = "revoked";
    /// Page origin not allowed for the channel (403).
    pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";
    /// Channel switched off (403).
    pub const CHANNEL_DISABLED: &str = "channel_disabled";
    /// Visitor blocked for now (403).
    pub const BLOCKED: &str = "blocked";
    /// No such channel (404).
    pub const UNKNOWN_CHANNEL: &str = "unknown_channel";
    /// Visitor handle unknown or revoked; launch again (404).
    pub const UNKNOWN_SESSION: &str = "unknown_session";
    /// Attachment not found (404).
    pub const NOT_FOUND: &str = "not_found";
    /// Handoff code used already (410).
    pub const HANDOFF_USED: &str = "handoff_used";
    /// Upload content type not accepted (415).
    pub const UNSUPPORTED_TYPE: &str = "unsupported_type";
    /// Too many requests; retry after the `Retry-After` seconds (429).
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The gateway could not take the request in time; nothing was stored. Retry (503).
    pub const BUSY: &str = "busy";
    /// The database can't be reached right now; nothing was stored. Retry (503).
    pub const UNAVAILABLE: &str = "unavailable";
    /// Outside business hours and the channel refuses requests (503).
    pub const CLOSED_AFTER_HOURS: &str = "closed_after_hours";
    /// Missing credentials (401).
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// Storage failed (500).
    pub const INTERNAL: &str = "internal";
    /// Socket send: empty text.
    pub const EMPTY_MESSAGE: &str = "empty_message";
    /// Socket send: text over [`super::MAX_TEXT_CHARS`].
    pub const MESSAGE_TOO_LONG: &str = "message_too_long";
    /// Socket `hello`: protocol version not spoken.
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    /// Socket: the first frame was not `hello`.
    pub const HELLO_FIRST: &str = "hello_first";
    /// Agent only: the session is not open (visitor has not written, or it closed).
    pub const SESSION_NOT_OPEN: &str = "session_not_open";
    /// Agent only: the session is assigned to someone else.
    pub const NOT_ASSIGNED: &str = "not_assigned";
    /// Agent only: the target agent has no free chat slot.
    pub const AGENT_FULL: &str = "agent_full";
    /// Agent only: the role does not allow this (a supervisor or admin action), 403.
    pub const FORBIDDEN: &str = "forbidden";
    /// Visitor: this chat was rated already (one rating per session).
    pub const ALREADY_RATED: &str = "already_rated";
    /// Admin only: someone changed this since it was read (stale `version`), 409.
    pub const CONFLICT: &str = "conflict";
    /// Admin only: channel settings (hours, guidance, menu) that break a rule; the message names
    /// every field at fault and nothing was changed, 400.
    pub const INVALID_SETTINGS: &str = "invalid_settings";

    /// Every code the gateway can send to a visitor (HTTP bodies, visitor socket, frame `error`).
    pub const VISITOR: &[&str] = &[
        TOO_LARGE,
        MALFORMED,
        BAD_REQUEST,
        UNKNOWN_KEY,
        BAD_SIGNATURE,
        EXPIRED,
        NOT_YET_VALID,
        WRONG_CHANNEL,
        WRONG_KIND,
        REVOKED,
        ORIGIN_NOT_ALLOWED,
        CHANNEL_DISABLED,
        BLOCKED,
        UNKNOWN_CHANNEL,
        UNKNOWN_SESSION,
        NOT_FOUND,
        HANDOFF_USED,
        UNSUPPORTED_TYPE,
        RATE_LIMITED,
        BUSY,
        UNAVAILABLE,
        CLOSED_AFTER_HOURS,
        UNAUTHORIZED,
        INTERNAL,
        EMPTY_MESSAGE,
        MESSAGE_TOO_LONG,
        UNSUPPORTED_VERSION,
        HELLO_FIRST,
        ALREADY_RATED,
    ];
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Sender {
    /// The visitor.
    Visitor,
    /// An agent, by display name.
    Agent {
        /// Agent id.
        id: String,
        /// Display name.
        name: String,
    },
    /// The channel's bot (menu, FAQ answers).
    Bot,
    /// The system (guidance, after-hours reply, session notices).
    System,
}

/// One item of the bot menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MenuOption {
    /// Option id the visitor sends back with `choose`.
    pub id: String,
    /// Label shown on the button.
    pub label: String,
    /// Link out for self-service, opened instead of choosing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What a message holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// Plain text, at most [`MAX_TEXT_CHARS`]; always rendered as text, never as HTML.
    Text {
        /// The text.
        text: String,
    },
    /// An uploaded image.
    Image {
        /// Attachment id from `POST /v1/uploads`.
        attachment: String,
        /// MIME type detected from content.
        mime: String,
        /// Size in bytes.
        size: u64,
    },
    /// An uploaded file.
    File {
        /// Attachment id.
        attachment: String,
        /// File name as uploaded (display only).
        name: String,
        /// MIME type detected from content.
        mime: String,
        /// Size in bytes.
        size: u64,
    },
    /// A bot menu: a prompt and buttons.
    Menu {
        /// Prompt text.
        text: String,
        /// The buttons.
        options: Vec<MenuOption>,
    },
    /// A bot's card list (products, orders, articles): a prompt and cards, each with a title,
    /// an optional line, an optional link and its own buttons.
    Cards {
        /// Prompt text.
        text: String,
        /// The cards, in order.
        cards: Vec<Card>,
    },
}

/// One card of [`Body::Cards`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    /// Title.
    pub title: String,
    /// A line under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the title links to (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The card's buttons (a tap is a `choose` with the option's id, as for a menu).
    #[serde(default)]
    pub options: Vec<MenuOption>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    /// Per-conversation sequence number, from 1, gap-free.
    pub seq: u64,
    /// Author.
    pub sender: Sender,
    /// Content.
    pub body: Body,
    /// The sender's client id, echoed so the sender can match its pending send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Server time, Unix milliseconds.
    pub at_ms: u64,
}

/// How far each side has got with a conversation's messages (`seq` marks; they only rise).
/// A message with `seq <= visitor_read_seq` was read by the visitor; one with
/// `seq <= visitor_delivered_seq` reached the visitor's socket; below both, it is only stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Receipts {
    /// Highest `seq` written to one of the visitor's sockets.
    pub visitor_delivered_seq: u64,
    /// Highest `seq` the visitor's chat showed with the chat open and in view.
    pub visitor_read_seq: u64,
    /// Highest `seq` the assigned agent (or the system answering over the API) has read.
    pub agent_read_seq: u64,
}

/// Lifecycle of a consult session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Opened, the visitor has not written yet: no agent may write.
    Waiting,
    /// The bot menu runs.
    Bot,
    /// Waiting in the queue for an agent.
    Queued,
    /// An agent is assigned.
    Assigned,
    /// Closed: no agent may write until the visitor writes again.
    Closed,
}

/// Why a session closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The visitor left.
    VisitorLeft,
    /// No message for the channel's inactivity period.
    Inactivity,
    /// An agent closed it.
    AgentClosed,
    /// The chat moved to the phone (desktop side only).
    HandedOff,
    /// The visitor was blocked.
    Blocked,
}

/// Visitor → gateway, on `GET /v1/visitor/socket` (no query: the handle travels in `hello`, never
/// in a URL, so it stays out of access logs and browser history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorCommand {
    /// First frame: protocol version, the session handle from the launch, and the last `seq`
    /// seen (0 for none).
    Hello {
        /// [`PROTOCOL_VERSION`].
        version: u16,
        /// The bearer handle `POST /v1/launch` returned.
        session: String,
        /// Last sequence number the client has.
        after_seq: u64,
    },
    /// Send a message; retries reuse the `client_id`.
    Send {
        /// Client-chosen idempotency id.
        client_id: String,
        /// Text, or an image/file already uploaded.
        body: Body,
    },
    /// Pick a bot menu option.
    Choose {
        /// Client-chosen idempotency id.
        client_id: String,
        /// Option id.
        option: String,
    },
    /// The visitor is typing (or stopped).
    Typing {
        /// Typing now.
        active: bool,
    },
    /// Messages up to `seq` were seen (clears agent-side unread).
    Read {
        /// Last seen.
        seq: u64,
    },
    /// Ask for a handoff QR code (desktop).
    StartHandoff,
    /// The visitor ends the chat.
    Leave,
    /// The host page changed (e.g. a single-page app's route) while the chat is open.
    ///
    /// `declared` is unverified page context, as the page states it. The gateway checks its
    /// bounds ([`EntryPoint::validate`]), shows its `page` to agents
    /// as [`SessionSummary::current_page`] and never merges it into verified fields (nor into
    /// the entry point the session opened with).
    Context {
        /// Declared (unverified) page context.
        declared: EntryPoint,
    },
    /// Rate the conversation's last closed session, 1 (bad) to 5 (good), with an optional comment
    /// of at most [`MAX_RATING_COMMENT_CHARS`]; once per session (`already_rated` after that).
    Rate {
        /// 1 to 5.
        score: u8,
        /// What the visitor wants to add.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

/// Longest rating comment, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 500;

/// Gateway → visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorEvent {
    /// Answer to `hello`: current state; the gap after `after_seq` follows as `message` events.
    Welcome {
        /// Session state.
        state: SessionState,
        /// Queue position when queued (1 = next).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_position: Option<u32>,
        /// Assigned agent's display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        /// Highest `seq` stored.
        last_seq: u64,
    },
    /// A stored message (own messages included, so every view is the stored order).
    Message {
        /// The message.
        message: ChatMessage,
    },
    /// A send was stored durably under `seq`.
    Ack {
        /// The send's client id.
        client_id: String,
        /// Its sequence number.
        seq: u64,
    },
    /// Session state changed.
    State {
        /// New state.
        state: SessionState,
        /// Queue position when queued.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_position: Option<u32>,
        /// Assigned agent's display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        /// Why it closed, when closed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<CloseReason>,
    },
    /// The agent is typing.
    Typing {
        /// Typing now.
        active: bool,
    },
    /// A handoff code for the phone.
    Handoff {
        /// URL the QR code holds.
        url: String,
        /// The QR code, SVG, rendered by the gateway.
        svg: String,
        /// Expiry, Unix seconds.
        expires_at: u64,
    },
    /// A phone took this chat over; this socket closes after this event.
    HandedOff,
    /// A command failed; `client_id` names the send when it was one.
    Error {
        /// Stable code.
        code: String,
        /// A sentence for people.
        message: String,
        /// The failed send's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// The expected wait while queued, from the channel's recent assignments (sent after a
    /// `welcome` or `state` with a queue position, when there is recent data).
    Wait {
        /// About this many seconds.
        secs: u32,
    },
    /// The session closes for inactivity in about `secs` unless the visitor writes (sent once,
    /// a little before the close).
    Closing {
        /// Seconds left.
        secs: u32,
    },
    /// The agents have read the conversation up to `seq` (the visitor's messages show "read").
    Read {
        /// Highest read `seq`.
        seq: u64,
    },
}

/// Entry point as agents see it: verified and declared never mixed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryView {
    /// Signed by the business's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<EntryPoint>,
    /// Declared by the page, unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<EntryPoint>,
    /// How the launch came: `button`, `printed` or `handoff`.
    pub via: String,
}

/// A session as the agent desk lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// Session id (not the visitor's bearer handle).
    pub id: String,
    /// Channel id.
    pub channel: String,
    /// Stable per-channel user key.
    pub user_key: String,
    /// State.
    pub state: SessionState,
    /// Entry point, verified and declared apart.
    pub entry: EntryView,
    /// Membership, only ever verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Membership>,
    /// Bot category chosen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Assigned agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Opened, Unix milliseconds.
    pub opened_ms: u64,
    /// Last message, Unix milliseconds.
    pub last_ms: u64,
    /// Highest seq.
    pub last_seq: u64,
    /// Earlier sessions of the same user key.
    pub earlier_sessions: u32,
    /// The visitor's latest message in this session, for the queue: text shortened to about 120
    /// characters, or `[photo]` / `[file]`. Absent before the visitor writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// The page the visitor says they are on now (the `page` of their latest
    /// [`VisitorCommand::Context`] in this session). Declared, so unverified: kept apart from
    /// [`entry`](Self::entry), which stays where the session started. Absent until the page
    /// changes during the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
}

/// Agent → gateway, on `GET /v1/agent/socket` (no query: the bearer token travels in `hello`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentCommand {
    /// First frame: the protocol version and the bearer token from `POST /v1/agent/login`.
    Hello {
        /// [`PROTOCOL_VERSION`].
        version: u16,
        /// The agent's bearer token.
        token: String,
    },
    /// Set availability for automatic assignment.
    Available {
        /// Available now.
        available: bool,
    },
    /// Take a queued session (manual pick).
    Take {
        /// Session id.
        session: String,
    },
    /// Open a session's messages after a seq.
    Open {
        /// Session id.
        session: String,
        /// Last seq seen.
        after_seq: u64,
    },
    /// Send into an assigned, open session.
    Send {
        /// Session id.
        session: String,
        /// Client-chosen idempotency id.
        client_id: String,
        /// Content.
        body: Body,
    },
    /// Typing indicator.
    Typing {
        /// Session id.
        session: String,
        /// Typing now.
        active: bool,
    },
    /// Hand the session to another agent.
    Transfer {
        /// Session id.
        session: String,
        /// Target agent id.
        to_agent: String,
    },
    /// Close the session.
    Close {
        /// Session id.
        session: String,
        /// Instead of closing, end the agent's part and give the chat back to the bot (the
        /// session stays open with the bot; the visitor sees its menu again).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        to_bot: bool,
    },
    /// Block the session's user key for a number of days.
    Block {
        /// Session id.
        session: String,
        /// Days.
        days: u32,
        /// Reason, for the audit log.
        reason: String,
    },
    /// Earlier sessions of a user key.
    History {
        /// User key.
        user_key: String,
    },
    /// Past and present sessions of the agent's channels whose user key, member id, tags or
    /// message text contain `query` (case-insensitive), newest first; answered with
    /// [`AgentEvent::SearchResults`].
    Search {
        /// At least 2 characters.
        query: String,
    },
    /// Replace a session's tags (lowercase words, at most 10); agents who see the session get
    /// [`AgentEvent::Tags`].
    Tag {
        /// Session id.
        session: String,
        /// The new tags.
        tags: Vec<String>,
    },
    /// List the blocks in force on the agent's channels; answered with [`AgentEvent::Blocks`].
    Blocks,
    /// Lift every block of a user key on a channel; answered with [`AgentEvent::Blocks`].
    Unblock {
        /// Channel id.
        channel: String,
        /// User key.
        user_key: String,
    },
    /// Add an internal note to a session (the assignee or a supervisor); agents only, never the
    /// visitor. Everyone who has the session open or watched gets [`AgentEvent::Notes`].
    Note {
        /// Session id.
        session: String,
        /// 1 to 1000 characters.
        text: String,
    },
    /// Supervisor: follow (or stop following) a session's messages read-only as they come.
    Watch {
        /// Session id.
        session: String,
        /// Follow now.
        on: bool,
    },
    /// Supervisor: give a queued or assigned session to an agent (yourself: take it over).
    Reassign {
        /// Session id.
        session: String,
        /// Target agent id.
        to_agent: String,
    },
    /// Supervisor: the live board; answered with [`AgentEvent::Board`].
    Board,
    /// The assignee has read the session's messages up to `seq` (sent while the chat is in view);
    /// the visitor sees "read" under their messages.
    Read {
        /// Session id.
        session: String,
        /// Highest seen `seq`.
        seq: u64,
    },
}

/// Gateway → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // `welcome` is sent once per connection; boxing it buys nothing.
pub enum AgentEvent {
    /// Answer to `hello`: the agent, the queue and their open chats.
    Welcome {
        /// Agent id.
        agent_id: String,
        /// Agent display name.
        agent_name: String,
        /// Queued sessions.
        queue: Vec<SessionSummary>,
        /// Sessions assigned to this agent.
        chats: Vec<SessionSummary>,
        /// Canned answers.
        canned: Vec<CannedAnswer>,
        /// Other agents, for transfer.
        agents: Vec<AgentInfo>,
    },
    /// A session was added or changed (queue, assignment, state).
    Session {
        /// The session.
        session: SessionSummary,
    },
    /// A message in a session the agent can see.
    Message {
        /// Session id.
        session: String,
        /// The message.
        message: ChatMessage,
    },
    /// A send was stored.
    Ack {
        /// Client id.
        client_id: String,
        /// Seq.
        seq: u64,
    },
    /// The visitor is typing.
    Typing {
        /// Session id.
        session: String,
        /// Typing now.
        active: bool,
    },
    /// The visitor has gone quiet (no message for a while, session still open).
    Quiet {
        /// Session id.
        session: String,
    },
    /// Earlier sessions of a user key.
    History {
        /// User key.
        user_key: String,
        /// Sessions, newest first.
        sessions: Vec<SessionSummary>,
    },
    /// A command failed.
    Error {
        /// Stable code (`session_not_open`, `not_assigned`, …).
        code: String,
        /// A sentence for people.
        message: String,
        /// The failed send's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Sent after `welcome`: what this agent may do and how many chats they may hold.
    Profile {
        /// `agent` or `supervisor`.
        role: String,
        /// Chats the agent may hold at once (supervisors may take more by hand).
        max_chats: u32,
        /// For supervisors, sessions still with the bot (they get later changes as `session`).
        with_bot: Vec<SessionSummary>,
    },
    /// Every agent's availability, sent to every desk whenever one changes (sign-in, sign-out,
    /// the availability switch).
    Presence {
        /// All agents.
        agents: Vec<AgentInfo>,
    },
    /// Answer to [`AgentCommand::Search`].
    SearchResults {
        /// The query as received.
        query: String,
        /// Matching sessions, newest first.
        sessions: Vec<SessionSummary>,
    },
    /// A session's tags (after `open`, and whenever they change).
    Tags {
        /// Session id.
        session: String,
        /// Tags.
        tags: Vec<String>,
    },
    /// Blocks in force on the agent's channels.
    Blocks {
        /// Blocks, newest first.
        blocks: Vec<BlockInfo>,
    },
    /// A session's internal notes and the visitor's rating (after `open`, and when they change).
    Notes {
        /// Session id.
        session: String,
        /// Notes, oldest first.
        notes: Vec<NoteInfo>,
        /// The visitor's rating, once given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<RatingInfo>,
    },
    /// Answer to [`AgentCommand::Board`]: the supervisor's channels right now.
    Board {
        /// When this was read, Unix milliseconds (ages are `at_ms - opened_ms`).
        at_ms: u64,
        /// Waiting sessions per channel and category.
        queues: Vec<BoardQueue>,
        /// Agents of these channels.
        agents: Vec<BoardAgent>,
        /// Open sessions (with the bot, queued, assigned), oldest first.
        sessions: Vec<SessionSummary>,
    },
    /// The canned answers changed (an admin edited them): the whole list now.
    Canned {
        /// Canned answers.
        canned: Vec<CannedAnswer>,
    },
    /// How far the visitor (and the agents) have got with a session's messages: the agent's
    /// replies show "delivered" and then "read".
    Receipts {
        /// Session id.
        session: String,
        /// The marks now.
        receipts: Receipts,
    },
}

/// An internal note on a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoteInfo {
    /// Author's agent id.
    pub agent: String,
    /// Author's display name.
    pub agent_name: String,
    /// Text.
    pub text: String,
    /// Written, Unix milliseconds.
    pub at_ms: u64,
}

/// A visitor's satisfaction rating of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RatingInfo {
    /// 1 to 5.
    pub score: u8,
    /// Optional comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Given, Unix milliseconds.
    pub at_ms: u64,
}

/// One line of the board's queue table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoardQueue {
    /// Channel id.
    pub channel: String,
    /// Bot category, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Sessions waiting.
    pub waiting: u32,
    /// The longest wait now, ms.
    pub longest_wait_ms: u64,
}

/// One agent on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoardAgent {
    /// Agent id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// `available`, `away` (signed in, not taking chats) or `offline`.
    pub status: String,
    /// Chats held now.
    pub load: u32,
    /// Chats they may hold.
    pub max_chats: u32,
    /// Ids of the sessions they hold.
    pub chats: Vec<String>,
    /// Team, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A canned answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CannedAnswer {
    /// Short name (`/refund`).
    pub shortcut: String,
    /// Text inserted.
    pub text: String,
}

/// Another agent, for transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentInfo {
    /// Agent id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Available now.
    pub available: bool,
}

/// A block in force, for the desk's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockInfo {
    /// Channel id.
    pub channel: String,
    /// Blocked user key.
    pub user_key: String,
    /// Until, Unix milliseconds.
    pub until_ms: u64,
    /// Reason given.
    pub reason: String,
    /// Agent who blocked.
    pub agent: String,
    /// When, Unix milliseconds.
    pub created_ms: u64,
}

/// postMessage between the launcher (host page) and the chat frame (gateway origin). The sender
/// always names the receiver's exact origin and the receiver checks `event.origin` and
/// `event.source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FrameMessage {
    /// Frame → launcher: loaded and listening.
    Ready,
    /// Launcher → frame: start or show the chat with this launch context.
    Launch {
        /// The launch request.
        request: LaunchRequest,
        /// A message to prefill.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefill: Option<String>,
    },
    /// Launcher → frame: the page context changed (single-page app route change).
    Context {
        /// New declared entry point.
        declared: EntryPoint,
    },
    /// Either way: close the panel.
    Close,
    /// Launcher → frame: forget the visitor (logout).
    Shutdown,
    /// Frame → launcher: unread count for the badge.
    Unread {
        /// Count.
        count: u32,
    },
    /// Frame → launcher: a new message arrived (for the `message` event).
    Message {
        /// The message.
        message: ChatMessage,
    },
    /// Frame → launcher: launch failed.
    Error {
        /// The error.
        error: ErrorBody,
    },
}

/// Checks a visitor or agent text body: non-empty after trimming, at most [`MAX_TEXT_CHARS`].
///
/// # Errors
/// A stable error code and message.
pub fn check_text(text: &str) -> Result<(), ErrorBody> {
    match text_error_code(text) {
        None => Ok(()),
        Some(code) if code == codes::EMPTY_MESSAGE => Err(ErrorBody { code: code.into(), message: "message is empty".into() }),
        Some(code) => Err(ErrorBody {
            code: code.into(),
            message: format!("message is {} characters long; at most {MAX_TEXT_CHARS} are allowed", text.chars().count()),
        }),
    }
}

/// The error code [`check_text`] gives `text`, without building its message (the browser chat
/// app shows its own text for a code, and leaves the formatting code out of its wasm).
pub fn text_error_code(text: &str) -> Option<&'static str> {
    if text.trim().is_empty() {
        Some(codes::EMPTY_MESSAGE)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Some(codes::MESSAGE_TOO_LONG)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks_name_the_code_and_the_limit() {
        assert_eq!(check_text("hi"), Ok(()));
        assert_eq!(text_error_code("hi"), None);
        let long = "가".repeat(MAX_TEXT_CHARS + 1);
        for (text, code, message) in [
            (" \n", codes::EMPTY_MESSAGE, "message is empty".to_string()),
            (long.as_str(), codes::MESSAGE_TOO_LONG, "message is 1001 characters long; at most 1000 are allowed".to_string()),
        ] {
            assert_eq!(text_error_code(text), Some(code));
            assert_eq!(check_text(text), Err(ErrorBody { code: code.into(), message }));
        }
        assert_eq!(check_text(&"가".repeat(MAX_TEXT_CHARS)), Ok(()));
    }

    #[test]
    fn wire_shape_is_tagged_snake_case() {
        let cmd = VisitorCommand::Send { client_id: "c1".into(), body: Body::Text { text: "hi".into() } };
        let json = serde_json::to_string(&cmd).unwrap();
        assert_eq!(json, r#"{"type":"send","client_id":"c1","body":{"kind":"text","text":"hi"}}"#);
        assert_eq!(serde_json::from_str::<VisitorCommand>(&json).unwrap(), cmd);
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        assert!(check_text(&"가".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(check_text(&"가".repeat(MAX_TEXT_CHARS + 1)).unwrap_err().code, "message_too_long");
        assert_eq!(check_text("  \n").unwrap_err().code, "empty_message");
    }
}
