//! `GET /v1/visitor/socket?session=HANDLE`: the visitor's WebSocket.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use consult_sdk::protocol::{CloseReason, PROTOCOL_VERSION, VisitorCommand, VisitorEvent};
use consult_sdk::qr::{QrLevel, qr_svg};
use consult_sdk::{Claims, Kind, LaunchUrl, random_serial};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use crate::error::AppError;
use crate::hub::VisitorOut;
use crate::store::ConversationRef;
use crate::{AppState, HANDOFF_KEY_ID, now_ms};

/// Largest frame a visitor may send.
pub const MAX_FRAME: usize = 16 * 1024;
/// Handoff codes live this long.
const HANDOFF_TTL: u64 = 5 * 60;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/visitor/socket", get(upgrade))
}

#[derive(Deserialize)]
struct SocketQuery {
    session: String,
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

async fn upgrade(State(state): State<AppState>, Query(q): Query<SocketQuery>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let handle = q.session;
    let h = handle.clone();
    let conv = match state.db.call(move |s| s.resolve_handle(&h)).await {
        Ok(Some(c)) => c,
        Ok(None) => return AppError::UnknownSession.into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let allowed = state.config().channel(&conv.channel).map(|c| c.allowed_origins.clone()).unwrap_or_default();
    if !socket_origin_ok(&state, &headers, &allowed) {
        let origin = headers.get("origin").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        return AppError::OriginNotAllowed(origin).into_response();
    }
    let base = state.own_origin(&headers).unwrap_or_else(|| "http://localhost".into());
    ws.max_message_size(MAX_FRAME).on_upgrade(move |socket| async move {
        run(state, socket, conv, handle, base).await;
    })
}

fn text(event: &VisitorEvent) -> Message {
    Message::Text(serde_json::to_string(event).unwrap_or_default().into())
}

fn error_event(e: &AppError, client_id: Option<String>) -> VisitorEvent {
    let body = e.body();
    VisitorEvent::Error { code: body.code, message: body.message, client_id }
}

/// A small per-socket bucket: a flood from one visitor slows that visitor only.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * 10.0).min(60.0);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn run(state: AppState, socket: WebSocket, conv: ConversationRef, handle: String, base: String) {
    let (mut sink, mut stream) = socket.split();
    // The first frame must be hello.
    let after_seq = match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<VisitorCommand>(&t) {
            Ok(VisitorCommand::Hello { version, after_seq }) if version == PROTOCOL_VERSION => after_seq,
            Ok(VisitorCommand::Hello { version, .. }) => {
                let e = VisitorEvent::Error {
                    code: consult_sdk::protocol::codes::UNSUPPORTED_VERSION.into(),
                    message: format!("protocol version {version} is not supported; this gateway speaks {PROTOCOL_VERSION}"),
                    client_id: None,
                };
                let _ = sink.send(text(&e)).await;
                return;
            }
            _ => {
                let e = VisitorEvent::Error { code: consult_sdk::protocol::codes::HELLO_FIRST.into(), message: "send hello first".into(), client_id: None };
                let _ = sink.send(text(&e)).await;
                return;
            }
        },
        _ => return,
    };
    // Register, read the state and the gap in one storage step: nothing falls between them.
    let (c, h) = (conv.id.clone(), handle.clone());
    let start = state
        .run(move |core, store| {
            let (id, rx) = core.hub.add_visitor(&c, &h);
            let welcome = core.welcome(store, &c)?;
            let gap = store.messages_after(&c, after_seq, 100_000)?;
            Ok((id, rx, welcome, gap))
        })
        .await;
    let (conn_id, mut rx, welcome, gap) = match start {
        Ok(s) => s,
        Err(e) => {
            let _ = sink.send(text(&error_event(&e, None))).await;
            return;
        }
    };
    let mut last_sent = after_seq;
    let mut ok = sink.send(text(&welcome)).await.is_ok();
    for message in gap {
        if !ok {
            break;
        }
        last_sent = message.seq;
        ok = sink.send(text(&VisitorEvent::Message { message })).await.is_ok();
    }
    let mut bucket = Bucket { tokens: 60.0, at: Instant::now() };
    while ok {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break };
                let (event, last) = match out {
                    VisitorOut::Event(e) => (e, false),
                    VisitorOut::Last(e) => (e, true),
                };
                if let VisitorEvent::Message { message } = &event {
                    if message.seq <= last_sent {
                        continue;
                    }
                    last_sent = message.seq;
                }
                ok = sink.send(text(&event)).await.is_ok();
                if last {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                let cmd = match frame {
                    Message::Text(t) => serde_json::from_str::<VisitorCommand>(&t),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let replies = match cmd {
                    Ok(cmd) => {
                        if !bucket.take() {
                            vec![error_event(&AppError::RateLimited, client_id_of(&cmd))]
                        } else {
                            command(&state, &conv, &handle, &base, cmd).await
                        }
                    }
                    Err(e) => vec![error_event(&AppError::BadRequest(format!("not a visitor command: {e}")), None)],
                };
                // Deliver the stored message before its ack, so the view is always in stored order.
                while let Ok(VisitorOut::Event(e)) = rx.try_recv() {
                    if let VisitorEvent::Message { message } = &e {
                        if message.seq <= last_sent {
                            continue;
                        }
                        last_sent = message.seq;
                    }
                    ok = ok && sink.send(text(&e)).await.is_ok();
                }
                for r in replies {
                    ok = ok && sink.send(text(&r)).await.is_ok();
                }
            }
        }
    }
    state.core.hub.remove_visitor(&conv.id, conn_id);
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
                        core.hub.to_agent(agent, &consult_sdk::protocol::AgentEvent::Typing { session: s.id.clone(), active });
                    }
                    Ok(())
                })
                .await;
            vec![]
        }
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
