//! `GET /v1/visitor/socket`: the visitor's WebSocket. The handle comes in the first frame.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use consult_sdk::protocol::{ChatMessage, CloseReason, ErrorBody, PROTOCOL_VERSION, Sender, VisitorCommand, VisitorEvent, codes};
use consult_sdk::qr::{QrLevel, qr_svg};
use consult_sdk::{Claims, Kind, LaunchUrl, random_serial};
use futures_util::{SinkExt, StreamExt};

use crate::error::AppError;
use crate::hub::VisitorOut;
use crate::store::{ConversationRef, ReceiptMark};
use crate::{AppState, HANDOFF_KEY_ID, now_ms};

/// Largest frame a visitor may send.
pub const MAX_FRAME: usize = 16 * 1024;
/// Handoff codes live this long.
const HANDOFF_TTL: u64 = 5 * 60;

/// Frames larger than this end the socket before they are read at all.
const MAX_READ: usize = 1024 * 1024;
/// How often the gateway pings a socket (`server.ping_secs`), and how long a socket may stay
/// silent (no frame, no pong) before it counts as half-open and is closed.
pub fn ping_timing(state: &AppState) -> (Duration, Duration) {
    let every = Duration::from_secs(state.config().ping_secs);
    (every, every * 5 / 2)
}

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/visitor/socket", get(upgrade))
}

/// Sockets: own origin or the channel's allowed origins. Without `Origin` (not a browser) the
/// bearer handle alone decides, as it does for uploads.
pub fn socket_origin_ok(state: &AppState, headers: &HeaderMap, allowed: &[String]) -> bool {
    match headers.get("origin").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(o) => {
            let o = o.to_ascii_lowercase();
            state.own_origin(headers).as_deref() == Some(o.as_str()) || allowed.contains(&o)
        }
    }
}

/// A visitor's bearer handle, resolved: unknown and expired handles are `unknown_session`, a
/// blocked visitor's are `blocked` (a block ends every handle at once).
///
/// # Errors
/// [`AppError::UnknownSession`], [`AppError::Blocked`], storage failures.
pub async fn resolve_visitor(state: &AppState, handle: String) -> Result<ConversationRef, AppError> {
    if handle.is_empty() || handle.len() > 128 {
        return Err(AppError::UnknownSession);
    }
    let now = now_ms();
    state
        .run(move |_, store| {
            let conv = store.resolve_handle(&handle, now)?.ok_or(AppError::UnknownSession)?;
            if store.is_blocked(&conv.channel, &conv.user_key, now)? {
                return Err(AppError::Blocked);
            }
            Ok(conv)
        })
        .await
}

/// Socket settings shared by the visitor and agent sockets: small buffers (an idle socket
/// should cost a few kilobytes, not tungstenite's default 128 KiB read buffer; a visitor's
/// frames are mostly under 1 KiB, larger ones take a few more reads) and a hard frame cap.
pub fn lean(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(1024).write_buffer_size(0).max_write_buffer_size(4 * 1024 * 1024).max_message_size(MAX_READ).max_frame_size(MAX_READ)
}

/// Upgrades are limited per address (both sockets): reconnecting must not reset any other limit;
/// and the sockets held at once are capped below the open-file limit. The slot goes with the socket.
///
/// # Errors
/// [`AppError::RateLimited`] or, at the cap, [`AppError::Busy`]; both counted.
pub fn admit_upgrade(state: &AppState, client: IpAddr) -> Result<crate::SocketSlot, AppError> {
    state.limits.upgrades.check(&client).map_err(|wait| {
        state.core.metrics.rate_limited();
        AppError::RateLimited(wait)
    })?;
    state.limits.sockets.take().ok_or_else(|| {
        state.core.metrics.socket_refused();
        if state.limits.should_log(client) {
            tracing::warn!(%client, cap = state.limits.sockets.cap(), "socket refused: the gateway holds as many sockets as it may (server.max_sockets)");
        }
        AppError::Busy
    })
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let client = state.client_ip(peer, &headers);
    let slot = match admit_upgrade(&state, client) {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    let base = state.own_origin(&headers).unwrap_or_else(|| "http://localhost".into());
    lean(ws).on_upgrade(move |socket| async move {
        run(state, socket, headers, client, base).await;
        drop(slot);
    })
}

fn text(event: &VisitorEvent) -> Message {
    let json = match event {
        VisitorEvent::Message { message } if matches!(message.sender, Sender::Agent { .. }) => {
            serde_json::to_string(&VisitorEvent::Message { message: for_visitor(message.clone()) })
        }
        _ => serde_json::to_string(event),
    };
    Message::Text(json.unwrap_or_default().into())
}

fn error_event(e: &AppError, client_id: Option<String>) -> VisitorEvent {
    let body = e.body();
    VisitorEvent::Error { code: body.code, message: body.message, client_id }
}

/// Sends a last error and closes with `code` (1008 policy, 1009 too big).
async fn refuse<S>(sink: &mut S, e: &AppError, code: u16)
where
    S: SinkExt<Message> + Unpin,
{
    let _ = sink.send(text(&error_event(e, None))).await;
    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: e.code().into() }))).await;
}

/// The first frame: `hello` with the protocol version and the handle.
async fn hello(stream: &mut futures_util::stream::SplitStream<WebSocket>) -> Result<(String, u64), AppError> {
    match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) if t.len() <= MAX_FRAME => match serde_json::from_str::<VisitorCommand>(&t) {
            Ok(VisitorCommand::Hello { version, session, after_seq }) if version == PROTOCOL_VERSION => Ok((session, after_seq)),
            Ok(VisitorCommand::Hello { version, .. }) => Err(AppError::Message(ErrorBody {
                code: codes::UNSUPPORTED_VERSION.into(),
                message: format!("protocol version {version} is not supported; this gateway speaks {PROTOCOL_VERSION}"),
            })),
            _ => Err(AppError::Message(ErrorBody { code: codes::HELLO_FIRST.into(), message: "send hello with the session handle first".into() })),
        },
        _ => Err(AppError::Message(ErrorBody { code: codes::HELLO_FIRST.into(), message: "send hello with the session handle first".into() })),
    }
}

async fn run(state: AppState, socket: WebSocket, headers: HeaderMap, client: IpAddr, base: String) {
    let (mut sink, mut stream) = socket.split();
    let (handle, after_seq) = match hello(&mut stream).await {
        Ok(h) => h,
        Err(e) => return refuse(&mut sink, &e, close_code::POLICY).await,
    };
    let conv = match resolve_visitor(&state, handle.clone()).await {
        Ok(c) => c,
        Err(e) => return refuse(&mut sink, &e, close_code::POLICY).await,
    };
    let allowed = state.config().channel(&conv.channel).map(|c| c.allowed_origins.clone()).unwrap_or_default();
    if !socket_origin_ok(&state, &headers, &allowed) {
        let origin = headers.get("origin").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        return refuse(&mut sink, &AppError::OriginNotAllowed(origin), close_code::POLICY).await;
    }
    // Held for the socket's whole life otherwise: a kilobyte or two per idle visitor.
    drop((headers, allowed));
    // Register, read the state and the gap in one storage step: nothing falls between them.
    let (c, h) = (conv.id.clone(), handle.clone());
    let start = state
        .run(move |core, store| {
            let (id, rx) = core.hub.add_visitor(&c, &h);
            let welcome = core.welcome(store, &c)?;
            let gap = store.messages_after(&c, after_seq, 100_000)?;
            let agent_read = store.receipts(&c)?.agent_read_seq;
            Ok((id, rx, welcome, gap, agent_read))
        })
        .await;
    let (conn_id, mut rx, welcome, gap, agent_read) = match start {
        Ok(s) => s,
        Err(e) => return refuse(&mut sink, &e, close_code::ERROR).await,
    };
    let mut last_sent = after_seq;
    let mut progress = Progress::default();
    let mut ok = sink.send(text(&welcome)).await.is_ok();
    if let Some(w) = wait_hint(&state, &conv, &welcome).await {
        ok = ok && sink.send(text(&w)).await.is_ok();
    }
    for message in gap {
        if !ok {
            break;
        }
        last_sent = message.seq;
        progress.sent(&message);
        ok = sink.send(text(&VisitorEvent::Message { message })).await.is_ok();
    }
    if agent_read > 0 {
        ok = ok && sink.send(text(&VisitorEvent::Read { seq: agent_read })).await.is_ok();
    }
    let (ping_every, silent_limit) = ping_timing(&state);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut heard = tokio::time::Instant::now();
    while ok {
        let flush_at = progress.due;
        tokio::select! {
            () = sleep_until_or_never(flush_at) => {
                progress.flush(&state, &conv).await;
            }
            out = rx.recv() => {
                let Some(out) = out else {
                    if state.core.hub.is_stopping() {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::RESTART, reason: "restarting; reconnect".into() }))).await;
                    }
                    break;
                };
                let (event, last) = match out {
                    VisitorOut::Event(e) => (e, false),
                    VisitorOut::Last(e) => (e, true),
                };
                match write_event(&state, &conv, &mut sink, &mut progress, &mut last_sent, &event, ok).await {
                    None => continue,
                    Some(sent) => ok = sent,
                }
                if last {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::POLICY, reason: "ended".into() }))).await;
                    break;
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > silent_limit {
                    break;
                }
                ok = sink.send(Message::Ping(Default::default())).await.is_ok();
            }
            frame = stream.next() => {
                let frame = match frame {
                    Some(Ok(f)) => f,
                    Some(Err(_)) => {
                        // Most often a frame over MAX_READ: say so before dropping the connection.
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::SIZE, reason: "frame too large".into() }))).await;
                        break;
                    }
                    None => break,
                };
                heard = tokio::time::Instant::now();
                let cmd = match frame {
                    Message::Text(t) if t.len() > MAX_FRAME => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::SIZE, reason: format!("frames may be at most {MAX_FRAME} bytes").into() }))).await;
                        break;
                    }
                    Message::Text(t) => serde_json::from_str::<VisitorCommand>(&t),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let replies = match cmd {
                    // Reads are answered locally unless they move the mark past what this socket
                    // reported, and never past what it was sent: a flood of them costs no storage.
                    Ok(VisitorCommand::Read { seq }) => {
                        progress.read(&state, &conv, seq.min(last_sent)).await;
                        vec![]
                    }
                    Ok(cmd) => match limit_message(&state, &conv, client, &cmd) {
                        Err(e) => vec![error_event(&e, client_id_of(&cmd))],
                        Ok(()) => command(&state, &conv, &handle, &base, cmd).await,
                    },
                    Err(e) => vec![error_event(&AppError::BadRequest(format!("not a visitor command: {e}")), None)],
                };
                // Deliver the stored message before its ack, so the view is always in stored order.
                let mut ended = false;
                while let Ok(out) = rx.try_recv() {
                    let (e, last) = match out {
                        VisitorOut::Event(e) => (e, false),
                        VisitorOut::Last(e) => (e, true),
                    };
                    match write_event(&state, &conv, &mut sink, &mut progress, &mut last_sent, &e, ok).await {
                        None => continue,
                        Some(sent) => ok = sent,
                    }
                    ended |= last;
                }
                for r in replies {
                    ok = ok && sink.send(text(&r)).await.is_ok();
                }
                if ended {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::POLICY, reason: "ended".into() }))).await;
                    break;
                }
            }
        }
    }
    state.core.hub.remove_visitor(&conv.id, conn_id);
    progress.flush(&state, &conv).await;
}

/// Writes one published event to the visitor's socket, with the wait hint it calls for, if the
/// socket still writes (`ok`). A message this socket already sent is skipped (`None`); one past
/// the next is preceded by the messages it missed. Answers whether the socket still writes.
async fn write_event<S>(
    state: &AppState,
    conv: &ConversationRef,
    sink: &mut S,
    progress: &mut Progress,
    last_sent: &mut u64,
    event: &VisitorEvent,
    mut ok: bool,
) -> Option<bool>
where
    S: SinkExt<Message> + Unpin,
{
    if let VisitorEvent::Message { message } = event {
        if message.seq <= *last_sent {
            return None;
        }
        for missed in missing_before(state, conv, *last_sent, message.seq).await {
            progress.sent(&missed);
            ok = ok && sink.send(text(&VisitorEvent::Message { message: missed })).await.is_ok();
        }
        *last_sent = message.seq;
        progress.sent(message);
    }
    ok = ok && sink.send(text(event)).await.is_ok();
    if let Some(w) = wait_hint(state, conv, event).await {
        ok = ok && sink.send(text(&w)).await.is_ok();
    }
    Some(ok)
}

/// The messages between the last one this socket sent and `next`, when `next` skips some: an
/// earlier message is still on its way (another storage worker or node committed it first and
/// publishes it later) or its notification was lost with a node. Read from the database, so the
/// visitor sees every message once and in order; the late publish is then skipped as sent.
async fn missing_before(state: &AppState, conv: &ConversationRef, last_sent: u64, next: u64) -> Vec<ChatMessage> {
    if next <= last_sent + 1 {
        return Vec::new();
    }
    let (c, limit) = (conv.id.clone(), (next - last_sent - 1).min(MAX_GAP_READ) as u32);
    state.core.metrics.gap_filled();
    match state.db.call(move |s| s.messages_after(&c, last_sent, limit)).await {
        Ok(rows) => rows.into_iter().filter(|m| m.seq < next).collect(),
        Err(e) => {
            // The visitor's next reconnect reads the gap as every reconnect does.
            tracing::warn!(error = %e, conversation = %conv.id, "reading the messages a socket missed failed");
            Vec::new()
        }
    }
}

/// Most messages one gap read brings; a longer gap is the reconnect's to fill.
const MAX_GAP_READ: u64 = 1000;

/// What one visitor socket has written and been told was read, reported to storage coalesced:
/// at most one delivered mark per [`DELIVERED_EVERY`], never for the visitor's own messages.
#[derive(Default)]
struct Progress {
    reply_sent: u64,
    delivered_reported: u64,
    read_reported: u64,
    due: Option<tokio::time::Instant>,
}

/// How long a delivered mark may wait to be stored, so a burst of replies costs one write.
const DELIVERED_EVERY: Duration = Duration::from_millis(300);

impl Progress {
    fn sent(&mut self, message: &ChatMessage) {
        if message.sender != Sender::Visitor && message.seq > self.reply_sent {
            self.reply_sent = message.seq;
            self.due.get_or_insert_with(|| tokio::time::Instant::now() + DELIVERED_EVERY);
        }
    }

    async fn flush(&mut self, state: &AppState, conv: &ConversationRef) {
        self.due = None;
        let seq = self.reply_sent;
        if seq <= self.delivered_reported.max(self.read_reported) {
            return;
        }
        self.delivered_reported = seq;
        let c = conv.clone();
        let _ = state.run(move |core, store| core.visitor_progress(store, &c, ReceiptMark::VisitorDelivered, seq, now_ms())).await;
    }

    async fn read(&mut self, state: &AppState, conv: &ConversationRef, seq: u64) {
        if seq <= self.read_reported {
            return;
        }
        self.read_reported = seq;
        let c = conv.clone();
        let _ = state.run(move |core, store| core.visitor_progress(store, &c, ReceiptMark::VisitorRead, seq, now_ms())).await;
    }
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The expected wait to send after an event that puts the visitor in the queue at a position.
async fn wait_hint(state: &AppState, conv: &ConversationRef, event: &VisitorEvent) -> Option<VisitorEvent> {
    let (VisitorEvent::Welcome { queue_position: Some(p), .. } | VisitorEvent::State { queue_position: Some(p), .. }) = event else { return None };
    let (channel, position) = (conv.channel.clone(), *p);
    let secs = state.run(move |core, store| core.wait_estimate(store, &channel, position, now_ms())).await.ok()??;
    Some(VisitorEvent::Wait { secs })
}

/// Messages are limited per conversation (however many sockets or reconnects carry them) and
/// per address; typing, read and context frames are not messages.
fn limit_message(state: &AppState, conv: &ConversationRef, client: IpAddr, cmd: &VisitorCommand) -> Result<(), AppError> {
    if !matches!(cmd, VisitorCommand::Send { .. } | VisitorCommand::Choose { .. } | VisitorCommand::StartHandoff | VisitorCommand::Rate { .. }) {
        return Ok(());
    }
    let refused = state.limits.conversation_messages.check(&conv.id).and_then(|()| state.limits.address_messages.check(&client));
    refused.map_err(|wait| {
        state.core.metrics.rate_limited();
        AppError::RateLimited(wait)
    })
}

/// What a visitor may see of a stored message: an agent's display name, never the sign-in id.
pub fn for_visitor(mut message: ChatMessage) -> ChatMessage {
    if let Sender::Agent { id, .. } = &mut message.sender {
        *id = String::new();
    }
    message
}

fn client_id_of(cmd: &VisitorCommand) -> Option<String> {
    match cmd {
        VisitorCommand::Send { client_id, .. } | VisitorCommand::Choose { client_id, .. } => Some(client_id.clone()),
        _ => None,
    }
}

async fn command(state: &AppState, conv: &ConversationRef, handle: &str, base: &str, cmd: VisitorCommand) -> Vec<VisitorEvent> {
    let now = now_ms();
    let c = conv.clone();
    match cmd {
        VisitorCommand::Hello { .. } => vec![],
        VisitorCommand::Send { client_id, body } => {
            let id = client_id.clone();
            match state.run(move |core, store| core.visitor_send(store, &c, &id, body, now)).await {
                Ok(seq) => vec![VisitorEvent::Ack { client_id, seq }],
                Err(e) => vec![error_event(&e, Some(client_id))],
            }
        }
        VisitorCommand::Choose { client_id, option } => {
            let id = client_id.clone();
            match state.run(move |core, store| core.visitor_choose(store, &c, &id, &option, now)).await {
                Ok(seq) => vec![VisitorEvent::Ack { client_id, seq }],
                Err(e) => vec![error_event(&e, Some(client_id))],
            }
        }
        VisitorCommand::Typing { active } => {
            let _ = state
                .run(move |core, store| {
                    let (session, _) = store.conversation_state(&c.id)?;
                    if let Some(s) = session.filter(|s| s.is_open())
                        && let Some(agent) = &s.agent
                    {
                        let event = consult_sdk::protocol::AgentEvent::Typing { session: s.id.clone(), active };
                        core.publish(vec![crate::rules::Event::Agent { agent: agent.clone(), event }]);
                    }
                    Ok(())
                })
                .await;
            vec![]
        }
        // Handled on the socket (see `Progress`).
        VisitorCommand::Read { .. } => vec![],
        VisitorCommand::Context { declared } => {
            match state.run(move |core, store| core.visitor_context(store, &c, &declared)).await {
                Ok(()) => vec![],
                Err(e) => vec![error_event(&e, None)],
            }
        }
        VisitorCommand::Leave => {
            let result = state
                .run(move |core, store| {
                    let (session, _) = store.conversation_state(&c.id)?;
                    match session.filter(|s| s.is_open()) {
                        Some(s) => core.close(store, &s.id, CloseReason::VisitorLeft, now).map(|_| ()),
                        None => Ok(()),
                    }
                })
                .await;
            result.err().map(|e| error_event(&e, None)).into_iter().collect()
        }
        VisitorCommand::Rate { score, comment } => {
            let result = state.run(move |core, store| core.visitor_rate(store, &c, score, comment, now)).await;
            result.err().map(|e| error_event(&e, None)).into_iter().collect()
        }
        VisitorCommand::StartHandoff => match mint_handoff(state, conv, handle, base).await {
            Ok(event) => vec![event],
            Err(e) => vec![error_event(&e, None)],
        },
    }
}

/// Mints a single-use handoff code bound to this desktop handle.
async fn mint_handoff(state: &AppState, conv: &ConversationRef, handle: &str, base: &str) -> Result<VisitorEvent, AppError> {
    let key = state.handoff_key(&conv.channel).await?;
    let now = now_ms() / 1000;
    let serial = random_serial().map_err(|e| AppError::BadRequest(e.to_string()))?;
    let claims = Claims {
        kind: Kind::Handoff,
        channel: conv.channel.clone(),
        key_id: HANDOFF_KEY_ID.into(),
        issued_at: now,
        expires_at: now + HANDOFF_TTL,
        serial,
        entry: Default::default(),
        member: None,
    };
    let raw = key.sign_raw(&claims).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let h = handle.to_string();
    state.db.call(move |s| s.handoff_minted(serial, &h, (now + HANDOFF_TTL) * 1000)).await?;
    let url = LaunchUrl::handoff(base, &raw).map_err(|e| AppError::BadRequest(e.to_string()))?.to_url();
    let svg = qr_svg(&url, QrLevel::Screen).map_err(|e| AppError::BadRequest(e.to_string()))?;
    state.core.metrics.handoff();
    Ok(VisitorEvent::Handoff { url, svg, expires_at: now + HANDOFF_TTL })
}
