// Generated from the Rust wire types (sdk/src/protocol.rs, counsel.rs, model.rs) by
// `cargo xtask types`. Do not edit: change the Rust types and run it again; `cargo xtask test`
// fails while this file differs from what they generate.

/**
 * Visitor → gateway, on `GET /v1/visitor/socket` (no query: the handle travels in `hello`, never
 * in a URL, so it stays out of access logs and browser history).
 */
export type VisitorCommand = { "type": "hello", 
/**
 * [`PROTOCOL_VERSION`].
 */
version: number, 
/**
 * The bearer handle `POST /v1/launch` returned.
 */
session: string, 
/**
 * Last sequence number the client has.
 */
after_seq: number, } | { "type": "send", 
/**
 * Client-chosen idempotency id.
 */
client_id: string, 
/**
 * Text, or an image/file already uploaded.
 */
body: Body, } | { "type": "choose", 
/**
 * Client-chosen idempotency id.
 */
client_id: string, 
/**
 * Option id.
 */
option: string, } | { "type": "typing", 
/**
 * Typing now.
 */
active: boolean, } | { "type": "read", 
/**
 * Last seen.
 */
seq: number, } | { "type": "start_handoff" } | { "type": "leave" } | { "type": "context", 
/**
 * Declared (unverified) page context.
 */
declared: EntryPoint, } | { "type": "rate", 
/**
 * 1 to 5.
 */
score: number, 
/**
 * What the visitor wants to add.
 */
comment?: string | null, };

/**
 * What a message holds.
 */
export type Body = { "kind": "text", 
/**
 * The text.
 */
text: string, } | { "kind": "image", 
/**
 * Attachment id from `POST /v1/uploads`.
 */
attachment: string, 
/**
 * MIME type detected from content.
 */
mime: string, 
/**
 * Size in bytes.
 */
size: number, } | { "kind": "file", 
/**
 * Attachment id.
 */
attachment: string, 
/**
 * File name as uploaded (display only).
 */
name: string, 
/**
 * MIME type detected from content.
 */
mime: string, 
/**
 * Size in bytes.
 */
size: number, } | { "kind": "menu", 
/**
 * Prompt text.
 */
text: string, 
/**
 * The buttons.
 */
options: Array<MenuOption>, } | { "kind": "cards", 
/**
 * Prompt text.
 */
text: string, 
/**
 * The cards, in order.
 */
cards: Array<Card>, };

/**
 * One card of [`Body::Cards`].
 */
export type Card = { 
/**
 * Title.
 */
title: string, 
/**
 * A line under the title.
 */
description?: string | null, 
/**
 * Where the title links to (http or https).
 */
url?: string | null, 
/**
 * The card's buttons (a tap is a `choose` with the option's id, as for a menu).
 */
options: Array<MenuOption>, };

/**
 * Where the consultation started: which button, on which page, for which campaign, product or order.
 */
export type EntryPoint = { 
/**
 * Button or placement id, e.g. `product-detail` or `store-counter`.
 */
button?: string | null, 
/**
 * Page path or URL the button sits on.
 */
page?: string | null, 
/**
 * Campaign id.
 */
campaign?: string | null, 
/**
 * Product reference (SKU, product id).
 */
product?: string | null, 
/**
 * Order reference.
 */
order?: string | null, 
/**
 * A few free tags.
 */
tags?: Array<string>, };

/**
 * One item of the bot menu.
 */
export type MenuOption = { 
/**
 * Option id the visitor sends back with `choose`.
 */
id: string, 
/**
 * Label shown on the button.
 */
label: string, 
/**
 * Link out for self-service, opened instead of choosing.
 */
url?: string | null, };

/**
 * Gateway → visitor.
 */
export type VisitorEvent = { "type": "welcome", 
/**
 * Session state.
 */
state: SessionState, 
/**
 * Queue position when queued (1 = next).
 */
queue_position?: number | null, 
/**
 * Assigned agent's display name.
 */
agent_name?: string | null, 
/**
 * Highest `seq` stored.
 */
last_seq: number, } | { "type": "message", 
/**
 * The message.
 */
message: ChatMessage, } | { "type": "ack", 
/**
 * The send's client id.
 */
client_id: string, 
/**
 * Its sequence number.
 */
seq: number, } | { "type": "state", 
/**
 * New state.
 */
state: SessionState, 
/**
 * Queue position when queued.
 */
queue_position?: number | null, 
/**
 * Assigned agent's display name.
 */
agent_name?: string | null, 
/**
 * Why it closed, when closed.
 */
reason?: CloseReason | null, } | { "type": "typing", 
/**
 * Typing now.
 */
active: boolean, } | { "type": "handoff", 
/**
 * URL the QR code holds.
 */
url: string, 
/**
 * The QR code, SVG, rendered by the gateway.
 */
svg: string, 
/**
 * Expiry, Unix seconds.
 */
expires_at: number, } | { "type": "handed_off" } | { "type": "error", 
/**
 * Stable code.
 */
code: string, 
/**
 * A sentence for people.
 */
message: string, 
/**
 * The failed send's id.
 */
client_id?: string | null, } | { "type": "wait", 
/**
 * About this many seconds.
 */
secs: number, } | { "type": "closing", 
/**
 * Seconds left.
 */
secs: number, } | { "type": "read", 
/**
 * Highest read `seq`.
 */
seq: number, };

/**
 * A stored message.
 */
export type ChatMessage = { 
/**
 * Per-conversation sequence number, from 1, gap-free.
 */
seq: number, 
/**
 * Author.
 */
sender: Sender, 
/**
 * Content.
 */
body: Body, 
/**
 * The sender's client id, echoed so the sender can match its pending send.
 */
client_id?: string | null, 
/**
 * Server time, Unix milliseconds.
 */
at_ms: number, };

/**
 * Why a session closed.
 */
export type CloseReason = "visitor_left" | "inactivity" | "agent_closed" | "handed_off" | "blocked";

/**
 * Who wrote a message.
 */
export type Sender = { "role": "visitor" } | { "role": "agent", 
/**
 * Agent id.
 */
id: string, 
/**
 * Display name.
 */
name: string, } | { "role": "bot" } | { "role": "system" };

/**
 * Lifecycle of a consult session.
 */
export type SessionState = "waiting" | "bot" | "queued" | "assigned" | "closed";

/**
 * Agent → gateway, on `GET /v1/agent/socket` (no query: the bearer token travels in `hello`).
 */
export type AgentCommand = { "type": "hello", 
/**
 * [`PROTOCOL_VERSION`].
 */
version: number, 
/**
 * The agent's bearer token.
 */
token: string, } | { "type": "available", 
/**
 * Available now.
 */
available: boolean, } | { "type": "take", 
/**
 * Session id.
 */
session: string, } | { "type": "open", 
/**
 * Session id.
 */
session: string, 
/**
 * Last seq seen.
 */
after_seq: number, } | { "type": "send", 
/**
 * Session id.
 */
session: string, 
/**
 * Client-chosen idempotency id.
 */
client_id: string, 
/**
 * Content.
 */
body: Body, } | { "type": "typing", 
/**
 * Session id.
 */
session: string, 
/**
 * Typing now.
 */
active: boolean, } | { "type": "transfer", 
/**
 * Session id.
 */
session: string, 
/**
 * Target agent id.
 */
to_agent: string, } | { "type": "close", 
/**
 * Session id.
 */
session: string, 
/**
 * Instead of closing, end the agent's part and give the chat back to the bot (the
 * session stays open with the bot; the visitor sees its menu again).
 */
to_bot?: boolean, } | { "type": "block", 
/**
 * Session id.
 */
session: string, 
/**
 * Days.
 */
days: number, 
/**
 * Reason, for the audit log.
 */
reason: string, } | { "type": "history", 
/**
 * User key.
 */
user_key: string, } | { "type": "search", 
/**
 * At least 2 characters.
 */
query: string, } | { "type": "tag", 
/**
 * Session id.
 */
session: string, 
/**
 * The new tags.
 */
tags: Array<string>, } | { "type": "blocks" } | { "type": "unblock", 
/**
 * Channel id.
 */
channel: string, 
/**
 * User key.
 */
user_key: string, } | { "type": "note", 
/**
 * Session id.
 */
session: string, 
/**
 * 1 to 1000 characters.
 */
text: string, } | { "type": "watch", 
/**
 * Session id.
 */
session: string, 
/**
 * Follow now.
 */
on: boolean, } | { "type": "reassign", 
/**
 * Session id.
 */
session: string, 
/**
 * Target agent id.
 */
to_agent: string, } | { "type": "board" } | { "type": "read", 
/**
 * Session id.
 */
session: string, 
/**
 * Highest seen `seq`.
 */
seq: number, };

/**
 * Gateway → agent.
 */
export type AgentEvent = { "type": "welcome", 
/**
 * Agent id.
 */
agent_id: string, 
/**
 * Agent display name.
 */
agent_name: string, 
/**
 * Queued sessions.
 */
queue: Array<SessionSummary>, 
/**
 * Sessions assigned to this agent.
 */
chats: Array<SessionSummary>, 
/**
 * Canned answers.
 */
canned: Array<CannedAnswer>, 
/**
 * Other agents, for transfer.
 */
agents: Array<AgentInfo>, } | { "type": "session", 
/**
 * The session.
 */
session: SessionSummary, } | { "type": "message", 
/**
 * Session id.
 */
session: string, 
/**
 * The message.
 */
message: ChatMessage, } | { "type": "ack", 
/**
 * Client id.
 */
client_id: string, 
/**
 * Seq.
 */
seq: number, } | { "type": "typing", 
/**
 * Session id.
 */
session: string, 
/**
 * Typing now.
 */
active: boolean, } | { "type": "quiet", 
/**
 * Session id.
 */
session: string, } | { "type": "history", 
/**
 * User key.
 */
user_key: string, 
/**
 * Sessions, newest first.
 */
sessions: Array<SessionSummary>, } | { "type": "error", 
/**
 * Stable code (`session_not_open`, `not_assigned`, …).
 */
code: string, 
/**
 * A sentence for people.
 */
message: string, 
/**
 * The failed send's id.
 */
client_id?: string | null, } | { "type": "profile", 
/**
 * `agent` or `supervisor`.
 */
role: string, 
/**
 * Chats the agent may hold at once (supervisors may take more by hand).
 */
max_chats: number, 
/**
 * For supervisors, sessions still with the bot (they get later changes as `session`).
 */
with_bot: Array<SessionSummary>, } | { "type": "presence", 
/**
 * All agents.
 */
agents: Array<AgentInfo>, } | { "type": "search_results", 
/**
 * The query as received.
 */
query: string, 
/**
 * Matching sessions, newest first.
 */
sessions: Array<SessionSummary>, } | { "type": "tags", 
/**
 * Session id.
 */
session: string, 
/**
 * Tags.
 */
tags: Array<string>, } | { "type": "blocks", 
/**
 * Blocks, newest first.
 */
blocks: Array<BlockInfo>, } | { "type": "notes", 
/**
 * Session id.
 */
session: string, 
/**
 * Notes, oldest first.
 */
notes: Array<NoteInfo>, 
/**
 * The visitor's rating, once given.
 */
rating?: RatingInfo | null, } | { "type": "board", 
/**
 * When this was read, Unix milliseconds (ages are `at_ms - opened_ms`).
 */
at_ms: number, 
/**
 * Waiting sessions per channel and category.
 */
queues: Array<BoardQueue>, 
/**
 * Agents of these channels.
 */
agents: Array<BoardAgent>, 
/**
 * Open sessions (with the bot, queued, assigned), oldest first.
 */
sessions: Array<SessionSummary>, } | { "type": "canned", 
/**
 * Canned answers.
 */
canned: Array<CannedAnswer>, } | { "type": "receipts", 
/**
 * Session id.
 */
session: string, 
/**
 * The marks now.
 */
receipts: Receipts, };

/**
 * Another agent, for transfer.
 */
export type AgentInfo = { 
/**
 * Agent id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Available now.
 */
available: boolean, };

/**
 * A block in force, for the desk's list.
 */
export type BlockInfo = { 
/**
 * Channel id.
 */
channel: string, 
/**
 * Blocked user key.
 */
user_key: string, 
/**
 * Until, Unix milliseconds.
 */
until_ms: number, 
/**
 * Reason given.
 */
reason: string, 
/**
 * Agent who blocked.
 */
agent: string, 
/**
 * When, Unix milliseconds.
 */
created_ms: number, };

/**
 * One agent on the board.
 */
export type BoardAgent = { 
/**
 * Agent id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * `agent`, `supervisor` or `admin`.
 */
role: string, 
/**
 * `available`, `away` (signed in, not taking chats) or `offline`.
 */
status: string, 
/**
 * Chats held now.
 */
load: number, 
/**
 * Chats they may hold.
 */
max_chats: number, 
/**
 * Ids of the sessions they hold.
 */
chats: Array<string>, 
/**
 * Team, if any.
 */
team?: string | null, };

/**
 * One line of the board's queue table.
 */
export type BoardQueue = { 
/**
 * Channel id.
 */
channel: string, 
/**
 * Bot category, if any.
 */
category?: string | null, 
/**
 * Sessions waiting.
 */
waiting: number, 
/**
 * The longest wait now, ms.
 */
longest_wait_ms: number, };

/**
 * A canned answer.
 */
export type CannedAnswer = { 
/**
 * Short name (`/refund`).
 */
shortcut: string, 
/**
 * Text inserted.
 */
text: string, };

/**
 * Entry point as agents see it: verified and declared never mixed.
 */
export type EntryView = { 
/**
 * Signed by the business's server.
 */
verified?: EntryPoint | null, 
/**
 * Declared by the page, unverified.
 */
declared?: EntryPoint | null, 
/**
 * How the launch came: `button`, `printed` or `handoff`.
 */
via: string, };

/**
 * Membership data of a logged-in member, only ever accepted when signed.
 */
export type Membership = { 
/**
 * The business's member id; the gateway derives the stable `user_key` from it.
 */
id: string, 
/**
 * Membership tier, e.g. `gold`.
 */
tier?: string | null, 
/**
 * Display name shown to agents.
 */
name?: string | null, 
/**
 * A bounded map of custom attributes.
 */
attrs?: { [key in string]: string }, };

/**
 * An internal note on a session.
 */
export type NoteInfo = { 
/**
 * Author's agent id.
 */
agent: string, 
/**
 * Author's display name.
 */
agent_name: string, 
/**
 * Text.
 */
text: string, 
/**
 * Written, Unix milliseconds.
 */
at_ms: number, };

/**
 * A visitor's satisfaction rating of a session.
 */
export type RatingInfo = { 
/**
 * 1 to 5.
 */
score: number, 
/**
 * Optional comment.
 */
comment?: string | null, 
/**
 * Given, Unix milliseconds.
 */
at_ms: number, };

/**
 * How far each side has got with a conversation's messages (`seq` marks; they only rise).
 * A message with `seq <= visitor_read_seq` was read by the visitor; one with
 * `seq <= visitor_delivered_seq` reached the visitor's socket; below both, it is only stored.
 */
export type Receipts = { 
/**
 * Highest `seq` written to one of the visitor's sockets.
 */
visitor_delivered_seq: number, 
/**
 * Highest `seq` the visitor's chat showed with the chat open and in view.
 */
visitor_read_seq: number, 
/**
 * Highest `seq` the assigned agent (or the system answering over the API) has read.
 */
agent_read_seq: number, };

/**
 * A session as the agent desk lists it.
 */
export type SessionSummary = { 
/**
 * Session id (not the visitor's bearer handle).
 */
id: string, 
/**
 * Channel id.
 */
channel: string, 
/**
 * Stable per-channel user key.
 */
user_key: string, 
/**
 * State.
 */
state: SessionState, 
/**
 * Entry point, verified and declared apart.
 */
entry: EntryView, 
/**
 * Membership, only ever verified.
 */
member?: Membership | null, 
/**
 * Bot category chosen, if any.
 */
category?: string | null, 
/**
 * Assigned agent id.
 */
agent?: string | null, 
/**
 * Opened, Unix milliseconds.
 */
opened_ms: number, 
/**
 * Last message, Unix milliseconds.
 */
last_ms: number, 
/**
 * Highest seq.
 */
last_seq: number, 
/**
 * Earlier sessions of the same user key.
 */
earlier_sessions: number, 
/**
 * The visitor's latest message in this session, for the queue: text shortened to about 120
 * characters, or `[photo]` / `[file]`. Absent before the visitor writes.
 */
preview?: string | null, 
/**
 * The page the visitor says they are on now (the `page` of their latest
 * [`VisitorCommand::Context`] in this session). Declared, so unverified: kept apart from
 * [`entry`](Self::entry), which stays where the session started. Absent until the page
 * changes during the session.
 */
current_page?: string | null, };

/**
 * postMessage between the launcher (host page) and the chat frame (gateway origin). The sender
 * always names the receiver's exact origin and the receiver checks `event.origin` and
 * `event.source`.
 */
export type FrameMessage = { "type": "ready" } | { "type": "launch", 
/**
 * The launch request.
 */
request: LaunchRequest, 
/**
 * A message to prefill.
 */
prefill?: string | null, } | { "type": "context", 
/**
 * New declared entry point.
 */
declared: EntryPoint, } | { "type": "close" } | { "type": "shutdown" } | { "type": "unread", 
/**
 * Count.
 */
count: number, } | { "type": "message", 
/**
 * The message.
 */
message: ChatMessage, } | { "type": "error", 
/**
 * The error.
 */
error: ErrorBody, };

/**
 * Error body of every HTTP error and of socket `error` events.
 *
 * `message` is an English sentence for logs and developers; clients show visitors their own
 * localized text chosen by `code`. Every code the gateway can send to a visitor is a constant in
 * [`codes`] and listed in [`codes::VISITOR`]; a code never changes meaning once published.
 *
 * | code | HTTP status | where |
 * |---|---|---|
 * | `too_large` | 413 | launch (body or token too long), upload (file over the limit) |
 * | `malformed` | 400 | launch: the token or code is not a token |
 * | `bad_request` | 400 | launch, upload, socket: malformed request (names the field) |
 * | `unknown_key` | 401 | launch: token signed by a key the channel does not know |
 * | `bad_signature` | 401 | launch: signature does not verify |
 * | `expired` | 401 | launch: token or code expired |
 * | `not_yet_valid` | 401 | launch: token issued in the future (clock skew) |
 * | `wrong_channel` | 401 | launch: token made for another channel |
 * | `wrong_kind` | 401 | launch: e.g. a handoff code entered as a printed code |
 * | `revoked` | 401 | launch: token serial revoked |
 * | `origin_not_allowed` | 403 | launch, status, visitor socket: page origin not allowed |
 * | `channel_disabled` | 403 | launch: the channel is switched off |
 * | `blocked` | 403 | launch: this visitor is blocked for now |
 * | `unknown_channel` | 404 | launch, status: no such channel |
 * | `unknown_session` | 404 | visitor socket, upload: handle unknown or revoked; launch again |
 * | `not_found` | 404 | attachment download |
 * | `handoff_used` | 410 | launch: handoff code used already |
 * | `unsupported_type` | 415 | upload: content type not accepted |
 * | `rate_limited` | 429 | launch, upload, socket sends: too many requests, retry later |
 * | `closed_after_hours` | 503 | launch, socket send: outside business hours and the channel refuses |
 * | `unauthorized` | 401 | upload without a session handle |
 * | `internal` | 500 | any: storage failed |
 * | `empty_message` | — | socket `error` for a send: text empty |
 * | `message_too_long` | — | socket `error` for a send: over [`MAX_TEXT_CHARS`] |
 * | `unsupported_version` | — | socket `error` answering `hello`: protocol version not spoken |
 * | `hello_first` | — | socket `error`: first frame was not `hello` |
 */
export type ErrorBody = { 
/**
 * Stable machine-readable code, one of [`codes`] (`expired`, `origin_not_allowed`, `blocked`,
 * `rate_limited`…).
 */
code: string, 
/**
 * A sentence for people (English; clients localize by `code`).
 */
message: string, };

/**
 * `POST /v1/launch` body. Exactly one of `token` (button kind), `printed` or `handoff` (digits
 * forms) may be set; with none, the launch is anonymous with a declared entry point only.
 */
export type LaunchRequest = { 
/**
 * Channel id.
 */
channel: string, 
/**
 * Signed button token (text form).
 */
token?: string | null, 
/**
 * Printed entry code (digits form).
 */
printed?: string | null, 
/**
 * Handoff code (digits form).
 */
handoff?: string | null, 
/**
 * Entry point declared by the page (unsigned, shown as unverified).
 */
declared?: EntryPoint, 
/**
 * The browser's anonymous visitor key from an earlier launch, if storage kept it.
 */
visitor_key?: string | null, 
/**
 * Preferred UI language (`ko`, `en`).
 */
locale?: string | null, 
/**
 * Origin of the host page that embeds the chat frame, as the frame read it from the
 * launcher's `postMessage` event (`event.origin`, set by the browser). The gateway checks it
 * against the channel's allowed origins when the request comes from its own chat frame.
 */
host_origin?: string | null, };

/**
 * `POST /v1/launch` answer.
 */
export type LaunchResponse = { 
/**
 * Opaque visitor session handle: the bearer secret for the visitor socket and uploads.
 */
session: string, 
/**
 * Anonymous visitor key to keep in browser storage (a fresh one when none was sent).
 */
visitor_key: string, 
/**
 * The channel as the visitor sees it.
 */
channel: ChannelInfo, 
/**
 * Whether the entry point and membership were signed.
 */
verified: boolean, };

/**
 * The channel as shown to visitors.
 */
export type ChannelInfo = { 
/**
 * Channel id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Guidance message shown first; includes the retention/privacy notice.
 */
guidance: string, 
/**
 * Current status.
 */
status: ChannelStatus, 
/**
 * The channel's welcome line for this entry point, shown first in the chat.
 */
welcome?: string | null, };

/**
 * `GET /v1/channels/{id}/status`: what buttons need to decide whether and how to show.
 */
export type ChannelStatus = { 
/**
 * False when the service is switched off: every button hides.
 */
enabled: boolean, 
/**
 * Inside business hours now.
 */
open_now: boolean, 
/**
 * Next opening, Unix seconds, when closed.
 */
next_opening?: number | null, 
/**
 * After-hours reply, when closed.
 */
after_hours_message?: string | null, 
/**
 * The channel's colour (`#rrggbb`, white text on it at least 4.5:1) for buttons and the chat.
 */
color?: string | null, 
/**
 * The channel's logo on the gateway's own origin (`/v1/channels/{id}/logo?v=…`), when it has one.
 */
logo?: string | null, };

/**
 * `GET /v1/admin/channels`: one of the admin's channels and its status.
 */
export type ChannelSummary = { 
/**
 * Channel id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Switched on or off, open by its hours.
 */
status: ChannelStatus, 
/**
 * The switch's version: send it back with a switch.
 */
version: number, };

/**
 * `POST /v1/admin/canned`: save a canned answer (with `text`) or remove it (without).
 */
export type CannedEdit = { 
/**
 * `/shortcut`.
 */
shortcut: string, 
/**
 * The text; absent removes the answer.
 */
text?: string | null, 
/**
 * The list's version as read; a stale one is refused (`conflict`, 409).
 */
version: number, };

/**
 * `GET /v1/admin/agents`: an agent of the admin's channels.
 */
export type AgentAccountInfo = { 
/**
 * Sign-in id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * `agent`, `supervisor` or `admin`.
 */
role: string, 
/**
 * Disabled by an admin: signed out and refused at sign-in.
 */
disabled: boolean, 
/**
 * Has a desk open now.
 */
online: boolean, 
/**
 * Channels worked (empty: every channel).
 */
channels: Array<string>, 
/**
 * Bot categories taken from the queue.
 */
skills: Array<string>, 
/**
 * Most chats at once.
 */
max_chats: number, 
/**
 * Team, if any.
 */
team?: string | null, 
/**
 * Send this back with a change; a stale one is refused (`conflict`).
 */
version: number, };

/**
 * `POST /v1/admin/agents/{id}`: disable or enable an agent, set a new password (at least 10
 * characters; either signs the agent out everywhere), or change skills, max chats or team.
 * `version` is the one read; a stale one is refused (`conflict`, 409).
 */
export type AgentUpdate = { 
/**
 * Disable (true) or enable (false); absent: unchanged.
 */
disabled?: boolean | null, 
/**
 * A new password; absent: unchanged.
 */
password?: string | null, 
/**
 * New skills; absent: unchanged.
 */
skills?: Array<string> | null, 
/**
 * New most chats at once; absent: unchanged.
 */
max_chats?: number | null, 
/**
 * New team (empty: none); absent: unchanged.
 */
team?: string | null, 
/**
 * The agent's version as read.
 */
version: number, };

/**
 * `POST /v1/admin/agents`: an admin creates an agent of their own channels.
 */
export type AgentCreate = { 
/**
 * Sign-in id: 1-64 of a-z, 0-9, '-' or '_'.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * At least 10 characters.
 */
password: string, 
/**
 * `agent` (default), `supervisor` or `admin`.
 */
role?: string | null, 
/**
 * Channels worked, each one of the admin's.
 */
channels: Array<string>, 
/**
 * Bot categories taken from the queue.
 */
skills: Array<string>, 
/**
 * Most chats at once, 1 to 100.
 */
max_chats: number, 
/**
 * Team, if any.
 */
team?: string | null, };

/**
 * `GET`/`POST /v1/admin/canned`: the canned answers and their version.
 */
export type CannedList = { 
/**
 * Send this back with a change.
 */
version: number, 
/**
 * The answers.
 */
answers: Array<CannedAnswer>, };

/**
 * `GET`/`PUT /v1/admin/channels/{id}/hours` and `/v1/counsel/channel/hours`: a channel's
 * business hours and holidays. A change names the `version` read; a stale one is refused
 * (`conflict`, 409).
 */
export type ChannelHours = { 
/**
 * 0 while the configuration file's hours hold.
 */
version: number, 
/**
 * `null`: always open.
 */
hours: HoursSpec | null, };

/**
 * A channel's business hours as written: the `[channels.hours]` table of the configuration
 * file and the body an admin sends to change them at runtime, checked by the same rules.
 */
export type HoursSpec = { 
/**
 * IANA time zone (`Asia/Seoul`); UTC when absent.
 */
time_zone?: string | null, 
/**
 * `wait` (queue for the opening, the default) or `refuse` (no new chats).
 */
after_hours?: string | null, 
/**
 * What visitors read outside the hours.
 */
after_hours_message?: string | null, 
/**
 * `mon` … `sun` → `"09:00-18:00"`, `"09:00-12:00,13:00-18:00"` or `"closed"`; a day left
 * out is closed.
 */
days: { [key in string]: string }, 
/**
 * Whole days closed, `YYYY-MM-DD`.
 */
holidays: Array<string>, };

/**
 * `GET`/`PUT /v1/admin/channels/{id}/guidance` and `/v1/counsel/channel/guidance`: what a
 * visitor reads first. Both parts are required: the notice says how long chats are kept.
 */
export type ChannelGuidance = { 
/**
 * 0 while the configuration file's guidance holds.
 */
version: number, 
/**
 * The greeting.
 */
guidance: string, 
/**
 * The retention and privacy notice, shown under the greeting. Empty only for a file that
 * keeps the notice inside `guidance`; a change must fill it.
 */
retention_notice: string, };

/**
 * `GET`/`PUT /v1/admin/channels/{id}/menu` and `/v1/counsel/channel/menu`: the bot menu.
 */
export type ChannelMenu = { 
/**
 * 0 while the configuration file's menu holds.
 */
version: number, 
/**
 * `null` when the channel has no bot menu (a change must send one).
 */
menu: MenuSpec | null, };

/**
 * One option of a bot menu as written (`[[channels.bot.options]]`, or an admin's change):
 * exactly one of `answer`, `url` or `category`.
 */
export type MenuOptionSpec = { 
/**
 * 1-64 of a-z, 0-9, '-' or '_', unique in the menu.
 */
id: string, 
/**
 * The button's label.
 */
label: string, 
/**
 * An FAQ answer.
 */
answer?: string | null, 
/**
 * A self-service link (`https://…`).
 */
url?: string | null, 
/**
 * Queue for an agent with this skill.
 */
category?: string | null, 
/**
 * Words that answer a typed message with this option (answer options only).
 */
keywords: Array<string>, };

/**
 * A bot menu as written (`[channels.bot]`, or an admin's change).
 */
export type MenuSpec = { 
/**
 * The line above the buttons.
 */
prompt?: string | null, 
/**
 * The buttons, at least one.
 */
options: Array<MenuOptionSpec>, 
/**
 * `queue` (the default: a typed message no keyword answers goes to a person) or `offer`.
 */
free_text?: string | null, };

/**
 * API keys of the channel.
 */
export type ApiKeyList = { 
/**
 * Newest first.
 */
keys: Array<ApiKeyInfo>, };

/**
 * An API key as listed (never its secret).
 */
export type ApiKeyInfo = { 
/**
 * Key id: the public prefix of the secret (`ck_<id>_…`).
 */
id: string, 
/**
 * The one channel the key works.
 */
channel: string, 
/**
 * A name for people (`crm`, `order-bot`).
 */
name: string, 
/**
 * Scopes.
 */
scopes: Array<Scope>, 
/**
 * The agent the key acts as for replies and takes (absent: a system key, which may send as
 * the bot, assign, close and block but not write as an agent).
 */
agent?: string | null, 
/**
 * Created, Unix milliseconds.
 */
created_ms: number, 
/**
 * Last accepted use, Unix milliseconds.
 */
last_used_ms?: number | null, 
/**
 * Revoked, Unix milliseconds.
 */
revoked_ms?: number | null, };

/**
 * What an API key may do. `read`: sessions, messages, deliveries; `write`: replies and session
 * actions; `admin`: keys and webhook endpoints.
 */
export type Scope = "read" | "write" | "admin";

/**
 * `POST /v1/counsel/keys` body (admin scope): a new key for the caller's channel.
 */
export type CreateApiKey = { 
/**
 * A name for people.
 */
name: string, 
/**
 * Scopes.
 */
scopes: Array<Scope>, 
/**
 * Agent identity for replies.
 */
agent?: string | null, };

/**
 * A key just created: the secret is shown this once; the gateway keeps only its hash.
 */
export type CreatedApiKey = { 
/**
 * The key.
 */
key: ApiKeyInfo, 
/**
 * `Authorization: Bearer <secret>`.
 */
secret: string, };

/**
 * A page of sessions. Pass `next_cursor` back as `cursor` for the next page; absent on the last.
 */
export type SessionPage = { 
/**
 * Sessions, oldest first (a user's history: newest first).
 */
sessions: Array<SessionSummary>, 
/**
 * Cursor of the next page.
 */
next_cursor?: string | null, };

/**
 * One session in full.
 */
export type SessionDetail = { 
/**
 * Entry point (verified and declared apart), membership, user key, current page, assignment.
 */
session: SessionSummary, 
/**
 * Why it closed, once closed.
 */
close_reason?: CloseReason | null, 
/**
 * Send results: how far the visitor has received and read the conversation.
 */
receipts: Receipts, };

/**
 * A page of a session's messages after a `seq`.
 */
export type MessagePage = { 
/**
 * Messages, oldest first.
 */
messages: Array<ChatMessage>, 
/**
 * True when more messages follow the last one here: ask again with its `seq` as `after`.
 */
more: boolean, 
/**
 * Send results for these messages: a reply with `seq <= receipts.visitor_read_seq` was read,
 * one with `seq <= receipts.visitor_delivered_seq` reached the visitor's socket,
 * any other is stored and waits for the visitor to come back.
 */
receipts: Receipts, };

/**
 * `POST /v1/counsel/sessions/{id}/messages` body.
 */
export type SendMessage = { 
/**
 * Required, 1 to 64 bytes: the same `client_id` sent again stores nothing new and answers
 * with the first send's `seq`.
 */
client_id: string, 
/**
 * Agent (default) or bot.
 */
sender?: SendAs, 
/**
 * Text, or an image or file uploaded with `POST /v1/counsel/uploads`.
 */
body: Body, };

/**
 * Whom a reply is written as.
 */
export type SendAs = "agent" | "bot";

/**
 * A reply stored.
 */
export type SendResult = { 
/**
 * The message's `seq` in the conversation.
 */
seq: number, };

/**
 * `POST …/assign` and `…/transfer` body.
 */
export type AssignRequest = { 
/**
 * Agent id.
 */
agent: string, };

/**
 * `POST …/handover` body: the bot hands the session to the agents' queue.
 */
export type HandoverRequest = { 
/**
 * Queue category (agents' skill), e.g. `orders`.
 */
category?: string | null, };

/**
 * `POST …/block` body.
 */
export type BlockRequest = { 
/**
 * 1 to 3650.
 */
days: number, 
/**
 * Why (kept with the block).
 */
reason: string, };

/**
 * `POST /v1/counsel/unblock` body.
 */
export type UnblockRequest = { 
/**
 * The user key to unblock.
 */
user_key: string, };

/**
 * `POST /v1/counsel/sessions/{id}/read` body: the outside system has read the visitor's
 * messages up to `seq` (the visitor sees "read").
 */
export type ReadRequest = { 
/**
 * Highest read `seq` (higher than the conversation's last is taken as the last).
 */
seq: number, };

/**
 * `POST …/close` body (optional; empty closes the session).
 */
export type CloseRequest = { 
/**
 * End the agent's part and give the chat back to the bot instead: the session stays open
 * with the bot (`session.state_changed` to `bot`) and the visitor sees its menu again.
 */
to_bot?: boolean, };

/**
 * `POST /v1/counsel/channel` body: switch the key's channel on or off. While off, every button
 * hides and new launches are refused; chats already open go on.
 */
export type ChannelSwitch = { 
/**
 * On (true) or off.
 */
enabled: boolean, 
/**
 * The switch's version as read (the desk always sends it); when given, a stale one is
 * refused (`conflict`, 409). Absent: set regardless, for scripts that own the state.
 */
version?: number | null, };

/**
 * A session after an action.
 */
export type ActionResult = { 
/**
 * The session now.
 */
session: SessionSummary, };

/**
 * An attachment uploaded with `POST /v1/counsel/uploads`, to send by id in an image or file body.
 */
export type UploadResult = { 
/**
 * Attachment id.
 */
attachment: string, 
/**
 * MIME type sniffed from the content.
 */
mime: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * Display name.
 */
name: string, };

/**
 * Webhook endpoints of the channel.
 */
export type WebhookList = { 
/**
 * Endpoints.
 */
endpoints: Array<WebhookEndpoint>, };

/**
 * A webhook endpoint of the channel.
 */
export type WebhookEndpoint = { 
/**
 * Endpoint id.
 */
id: string, 
/**
 * Target URL.
 */
url: string, 
/**
 * Event types delivered (`*`: all).
 */
events: Array<string>, 
/**
 * `config` (from the configuration file) or `api`.
 */
source: string, 
/**
 * Paused since (Unix ms): nothing is delivered until it is resumed with `…/replay`.
 */
paused_ms?: number | null, 
/**
 * Why it was paused.
 */
paused_reason?: string | null, 
/**
 * Deliveries waiting (pending).
 */
pending: number, 
/**
 * Deliveries given up.
 */
failed: number, };

/**
 * `POST /v1/counsel/webhooks` body (admin scope).
 */
export type CreateWebhook = { 
/**
 * Target URL (https, or http where the configuration allows it).
 */
url: string, 
/**
 * Event types, or `["*"]`.
 */
events: Array<string>, 
/**
 * `whsec_…` secret; generated when absent. Several, space-separated, during a rotation: every
 * delivery carries one signature per secret.
 */
secret?: string | null, };

/**
 * An endpoint just created, with its secret shown this once.
 */
export type CreatedWebhook = { 
/**
 * The endpoint.
 */
endpoint: WebhookEndpoint, 
/**
 * The signing secret(s).
 */
secret: string, };

/**
 * Deliveries of an endpoint.
 */
export type DeliveryList = { 
/**
 * Oldest first.
 */
deliveries: Array<DeliveryInfo>, };

/**
 * One delivery of one event to one endpoint.
 */
export type DeliveryInfo = { 
/**
 * The `webhook-id` header: the same across retries.
 */
id: string, 
/**
 * Event type.
 */
event_type: string, 
/**
 * Session, when the event is about one.
 */
session?: string | null, 
/**
 * `pending`, `delivered` or `failed`.
 */
status: string, 
/**
 * Attempts made.
 */
attempts: number, 
/**
 * HTTP status of the last attempt.
 */
last_status?: number | null, 
/**
 * What went wrong last.
 */
last_error?: string | null, 
/**
 * Written to the outbox, Unix ms.
 */
created_ms: number, 
/**
 * Next attempt, Unix ms (pending only).
 */
next_ms: number, };

/**
 * `POST /v1/counsel/webhooks/{id}/replay`: failed deliveries queued again, endpoint resumed.
 */
export type ReplayResult = { 
/**
 * Deliveries queued again.
 */
replayed: number, };

/**
 * A webhook delivery's body (Standard Webhooks layout: `type`, `timestamp`, `data`).
 */
export type WebhookPayload = { 
/**
 * Channel.
 */
channel: string, 
/**
 * When the change was stored, RFC 3339.
 */
timestamp: string, } & ({ "type": "session.opened", "data": SessionOpened } | { "type": "message.created", "data": MessageCreated } | { "type": "message.status", "data": MessageStatus } | { "type": "session.state_changed", "data": StateChanged } | { "type": "session.page_changed", "data": PageChanged } | { "type": "attachment.created", "data": AttachmentCreated });

/**
 * `attachment.created` data.
 */
export type AttachmentCreated = { 
/**
 * The open session of the visitor's conversation, if any.
 */
session?: string | null, 
/**
 * Attachment id.
 */
attachment: string, 
/**
 * Sniffed MIME type.
 */
mime: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Bytes.
 */
size: number, };

/**
 * `message.created` data.
 */
export type MessageCreated = { 
/**
 * Session id.
 */
session: string, 
/**
 * User key.
 */
user_key: string, 
/**
 * The message.
 */
message: ChatMessage, 
/**
 * When the visitor tapped a menu option rather than typing: the option's id (the message's
 * text is its label).
 */
option?: string | null, };

/**
 * `message.status` data: the conversation's marks after the change.
 */
export type MessageStatus = { 
/**
 * Session id.
 */
session: string, 
/**
 * User key.
 */
user_key: string, 
/**
 * Delivered and read marks (`seq`).
 */
receipts: Receipts, };

/**
 * `session.page_changed` data.
 */
export type PageChanged = { 
/**
 * Session id.
 */
session: string, 
/**
 * The page declared now (unverified).
 */
page?: string | null, };

/**
 * `session.opened` data.
 */
export type SessionOpened = { 
/**
 * Entry point (verified and declared apart), membership, user key, page, state.
 */
session: SessionSummary, };

/**
 * `session.state_changed` data.
 */
export type StateChanged = { 
/**
 * Session id.
 */
session: string, 
/**
 * State before.
 */
from: SessionState, 
/**
 * State now.
 */
to: SessionState, 
/**
 * Assigned agent.
 */
agent?: string | null, 
/**
 * Queue category.
 */
category?: string | null, 
/**
 * Why it closed.
 */
reason?: CloseReason | null, };
