//! `POST /v1/agent/login`, `GET /v1/agent/me`, `POST /v1/agent/logout` and
//! `GET /v1/agent/socket` (the token in the first frame): the agent desk's protocol.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult_sdk::protocol::{AgentCommand, AgentEvent, ErrorBody, PROTOCOL_VERSION, codes};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::visitor::ping_timing;
use crate::rules::access::AgentAction;
use crate::error::AppError;
use crate::identity::random_token;
use crate::{AppState, now_ms};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/agent/login", post(login))
        .route("/v1/agent/logout", post(logout))
        .route("/v1/agent/me", get(me))
        .route("/v1/agent/socket", get(upgrade))
}

/// Login body.
#[derive(Debug, Deserialize, Serialize)]
pub struct LoginRequest {
    /// Agent id.
    pub agent_id: String,
    /// Password.
    pub password: String,
}

/// Login answer.
#[derive(Debug, Deserialize, Serialize)]
pub struct LoginResponse {
    /// Bearer token for the socket and uploads.
    pub token: String,
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub name: String,
}

/// How long a sign-in waits for a free password-check slot before it is refused as `busy`.
const CHECK_WAIT: Duration = Duration::from_millis(250);

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<LoginResponse>, AppError> {
    let req: LoginRequest =
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("login body is not {{agent_id, password}}: {e}")))?;
    if req.agent_id.len() > 128 || req.password.len() > 1024 {
        return Err(AppError::BadRequest("agent_id or password is too long".into()));
    }
    let client = state.client_ip(peer, &headers);
    // Both limits, before any work: guessing from one address, or at one id from many.
    let limited = state.limits.login_address.check(&client).and_then(|()| state.limits.login_agent.check(&req.agent_id));
    if let Err(wait) = limited {
        state.core.metrics.rate_limited();
        if state.limits.should_log(client) {
            tracing::warn!(%client, agent = %req.agent_id, "agent sign-ins rate limited");
        }
        return Err(AppError::RateLimited(wait));
    }
    // The password an admin set wins over the file's; a disabled agent is refused like an unknown
    // one. Unknown ids cost the same check as known ones, so timing tells nothing about which exist.
    let id = req.agent_id.clone();
    let account = state.run(move |core, s| core.password_of(s, &id)).await?;
    let known = account.as_ref().is_some_and(|(_, disabled)| !disabled);
    let expected = account.map_or_else(|| state.decoy_password().clone(), |(p, _)| p);
    // At most one check per core at once (each holds ~19 MiB); the rest are refused quickly
    // instead of piling up memory.
    let Some(matched) = state.limits.password_checks.check(expected, req.password, CHECK_WAIT).await else {
        return Err(AppError::Busy);
    };
    let ok = matched && known;
    let agent = state.core.agent(&req.agent_id).filter(|_| ok);
    let Some(agent) = agent else {
        if state.limits.should_log(client) {
            tracing::info!(%client, "agent sign-in refused");
        }
        return Err(AppError::Unauthorized);
    };
    // 256 random bits; only their SHA-256 is stored, so a copy of the database signs no one in.
    let token = random_token(32);
    let (hash, id, now) = (token_hash(&token), agent.id.clone(), now_ms());
    let ip = client.to_string();
    state
        .run(move |core, s| {
            s.agent_token_put(&hash, &id, now, now + AGENT_SESSION_MS)?;
            core.audit(s, &id, "sign_in", None, None, &format!("from {ip}"), now)
        })
        .await?;
    tracing::info!(agent = %agent.id, "agent signed in");
    Ok(Json(LoginResponse { token, agent_id: agent.id.clone(), name: agent.name.clone() }))
}

/// How long an agent sign-in lasts: a working day and then some; a restart keeps it.
pub const AGENT_SESSION_MS: u64 = 14 * 3600 * 1000;

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The agent behind a bearer token, if it was issued and has not expired.
///
/// # Errors
/// Storage failures.
pub async fn agent_for_token(state: &AppState, token: &str) -> Result<Option<String>, AppError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let (hash, now) = (token_hash(token), now_ms());
    Ok(state.db.call(move |s| s.agent_token_get(&hash, now)).await?)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// `GET /v1/agent/me`: who a bearer token signs in, or 401 — how the desk checks a stored sign-in.
async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, AppError> {
    let agent = agent_for_token(&state, bearer(&headers).unwrap_or_default()).await?.ok_or(AppError::Unauthorized)?;
    let name = state.core.agent(&agent).map(|a| a.name.clone()).ok_or(AppError::Unauthorized)?;
    Ok(Json(serde_json::json!({ "agent_id": agent, "name": name })))
}

#[derive(Deserialize)]
struct LogoutRequest {
    token: String,
}

/// Signs a desk out: the token stops working at once and its open sockets close.
async fn logout(State(state): State<AppState>, body: axum::body::Bytes) -> Result<StatusCode, AppError> {
    let req: LogoutRequest = serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("logout body is not {{token}}: {e}")))?;
    let hash = token_hash(&req.token);
    state.db.call(move |s| s.agent_token_delete(&hash)).await?;
    state.core.hub.end_agent_token(&hash);
    Ok(StatusCode::NO_CONTENT)
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let slot = match super::visitor::admit_upgrade(&state, state.client_ip(peer, &headers)) {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    // The desk lives on the gateway's own origin.
    if let Some(o) = headers.get("origin").and_then(|v| v.to_str().ok())
        && state.own_origin(&headers).as_deref() != Some(&o.to_ascii_lowercase())
    {
        return AppError::OriginNotAllowed(o.into()).into_response();
    }
    super::visitor::lean(ws).max_message_size(64 * 1024).on_upgrade(move |socket| async move {
        run(state, socket).await;
        drop(slot);
    })
}

fn text(event: &AgentEvent) -> Message {
    Message::Text(serde_json::to_string(event).unwrap_or_default().into())
}

fn error_event(e: &AppError, client_id: Option<String>) -> AgentEvent {
    let body = e.body();
    AgentEvent::Error { code: body.code, message: body.message, client_id }
}

/// The first frame: `hello` with the version and the bearer token; the signed-in agent.
async fn hello(state: &AppState, stream: &mut futures_util::stream::SplitStream<WebSocket>) -> Result<(String, [u8; 32]), AppError> {
    let hello_first = || AppError::Message(ErrorBody {
        code: codes::HELLO_FIRST.into(),
        message: format!("send hello with version {PROTOCOL_VERSION} and your token first"),
    });
    match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<AgentCommand>(&t) {
            Ok(AgentCommand::Hello { version, token }) if version == PROTOCOL_VERSION => {
                let agent = agent_for_token(state, &token).await?.ok_or(AppError::Unauthorized)?;
                Ok((agent, token_hash(&token)))
            }
            _ => Err(hello_first()),
        },
        _ => Err(hello_first()),
    }
}

async fn run(state: AppState, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (agent, token) = match hello(&state, &mut stream).await {
        Ok(a) => a,
        Err(e) => {
            let _ = sink.send(text(&error_event(&e, None))).await;
            let _ = sink.send(Message::Close(Some(CloseFrame { code: close_code::POLICY, reason: e.code().into() }))).await;
            return;
        }
    };
    let a = agent.clone();
    let start = state
        .run(move |core, store| {
            let (id, rx) = core.hub.add_agent(&a, token);
            let me = core.agent(&a).ok_or(AppError::Unauthorized)?;
            let queue = store.queued()?.into_iter().filter(|s| me.works(&s.channel)).map(|s| s.summary()).collect();
            let chats = store.agent_sessions(&a)?.into_iter().map(|s| s.summary()).collect();
            Ok((id, rx, AgentEvent::Welcome {
                agent_id: a.clone(),
                agent_name: me.name.clone(),
                queue,
                chats,
                canned: core.canned(store)?,
                agents: core.agent_infos(),
            }))
        })
        .await;
    let (conn_id, mut rx, welcome) = match start {
        Ok(s) => s,
        Err(e) => {
            let _ = sink.send(text(&error_event(&e, None))).await;
            return;
        }
    };
    let mut ok = sink.send(text(&welcome)).await.is_ok();
    // Role, capacity and (supervisors) chats with the bot; then every desk hears this one came.
    let a = agent.clone();
    match state.run(move |core, store| core.profile(store, &a)).await {
        Ok(profile) => ok = ok && sink.send(text(&profile)).await.is_ok(),
        Err(e) => ok = ok && sink.send(text(&error_event(&e, None))).await.is_ok(),
    }
    state.core.publish_presence();
    let (ping_every, silent_limit) = ping_timing(&state);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut heard = tokio::time::Instant::now();
    while ok {
        tokio::select! {
            event = rx.recv() => {
                // The hub dropped this socket's queue: signed out, or too far behind.
                let Some(event) = event else {
                    let close = if state.core.hub.is_stopping() {
                        CloseFrame { code: close_code::RESTART, reason: "restarting; reconnect".into() }
                    } else {
                        CloseFrame { code: close_code::POLICY, reason: "signed out".into() }
                    };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                };
                ok = sink.send(text(&event)).await.is_ok();
            }
            _ = ping.tick() => {
                // A laptop gone to sleep stops answering: it must stop being assigned chats.
                if heard.elapsed() > silent_limit {
                    break;
                }
                ok = sink.send(Message::Ping(Default::default())).await.is_ok();
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                heard = tokio::time::Instant::now();
                let cmd = match frame {
                    Message::Text(t) => serde_json::from_str::<AgentCommand>(&t),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let replies = match cmd {
                    Ok(cmd) => command(&state, &agent, cmd).await,
                    Err(e) => vec![error_event(&AppError::BadRequest(format!("not an agent command: {e}")), None)],
                };
                while let Ok(e) = rx.try_recv() {
                    ok = ok && sink.send(text(&e)).await.is_ok();
                }
                for r in replies {
                    ok = ok && sink.send(text(&r)).await.is_ok();
                }
            }
        }
    }
    state.core.hub.remove_agent(&agent, conn_id);
    state.core.publish_presence();
    if !state.core.hub.is_available(&agent) {
        tracing::info!(agent = %agent, "agent offline");
    }
}

async fn command(state: &AppState, agent: &str, cmd: AgentCommand) -> Vec<AgentEvent> {
    let now = now_ms();
    let me = agent.to_string();
    let result: Result<Vec<AgentEvent>, (AppError, Option<String>)> = match cmd {
        AgentCommand::Hello { .. } => Ok(vec![]),
        AgentCommand::Available { available } => state
            .run(move |core, store| {
                core.hub.set_available(&me, available);
                core.publish_presence();
                core.route(store, now)?;
                Ok(vec![])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Take { session } => state
            .run(move |core, store| core.take(store, &me, &session).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Open { session, after_seq } => state
            .run(move |core, store| {
                let row = core.session_for(store, &me, &session, AgentAction::View)?;
                let messages = store.session_messages(&session, after_seq, 10_000)?;
                let mut out = vec![AgentEvent::Session { session: row.summary() }];
                out.extend(messages.into_iter().map(|message| AgentEvent::Message { session: session.clone(), message }));
                out.push(core.tags(store, &me, &session)?);
                out.push(core.notes_event(store, &session)?);
                out.push(AgentEvent::Receipts { session: session.clone(), receipts: store.receipts(&row.conversation)? });
                Ok(out)
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Send { session, client_id, body } => {
            let id = client_id.clone();
            state
                .run(move |core, store| core.agent_send(store, &me, &session, &id, body, now))
                .await
                .map(|seq| vec![AgentEvent::Ack { client_id: client_id.clone(), seq }])
                .map_err(|e| (e, Some(client_id)))
        }
        AgentCommand::Typing { session, active } => state
            .run(move |core, store| {
                let row = core.session_for(store, &me, &session, AgentAction::Write)?;
                if row.is_open() {
                    let event = consult_sdk::protocol::VisitorEvent::Typing { active };
                    core.publish(vec![crate::rules::Event::Visitor { conversation: row.conversation, event }]);
                }
                Ok(vec![])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Transfer { session, to_agent } => state
            .run(move |core, store| core.transfer(store, &me, &session, &to_agent, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Close { session, to_bot: true } => state
            .run(move |core, store| {
                core.session_for(store, &me, &session, AgentAction::Close)?;
                core.hand_back_to_bot(store, &me, &session, now).map(|_| vec![])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Close { session, to_bot: false } => state
            .run(move |core, store| core.agent_close(store, &me, &session, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Block { session, days, reason } => state
            .run(move |core, store| core.block(store, &me, &session, days, &reason, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::History { user_key } => state
            .run(move |core, store| {
                let a = core.agent(&me).ok_or(AppError::Unauthorized)?;
                let mut sessions = Vec::new();
                for channel in core.config.channels.iter().filter(|c| a.works(&c.id)) {
                    sessions.extend(store.history(&channel.id, &user_key, 50)?.into_iter().map(|s| s.summary()));
                }
                sessions.sort_by_key(|s| std::cmp::Reverse(s.opened_ms));
                Ok(vec![AgentEvent::History { user_key, sessions }])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Search { query } => state.run(move |core, store| Ok(vec![core.search(store, &me, &query)?])).await.map_err(|e| (e, None)),
        AgentCommand::Tag { session, tags } => {
            state.run(move |core, store| core.set_tags(store, &me, &session, &tags).map(|_| vec![])).await.map_err(|e| (e, None))
        }
        AgentCommand::Blocks => state.run(move |core, store| Ok(vec![core.blocks(store, &me, now)?])).await.map_err(|e| (e, None)),
        AgentCommand::Unblock { channel, user_key } => state
            .run(move |core, store| Ok(vec![core.unblock(store, &me, &channel, &user_key, now)?]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Note { session, text } => {
            state.run(move |core, store| Ok(vec![core.note(store, &me, &session, &text, now)?])).await.map_err(|e| (e, None))
        }
        AgentCommand::Watch { session, on } => {
            state.run(move |core, store| core.watch(store, &me, &session, on)).await.map_err(|e| (e, None))
        }
        AgentCommand::Reassign { session, to_agent } => state
            .run(move |core, store| core.reassign(store, &me, &session, &to_agent, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Board => state.run(move |core, store| Ok(vec![core.board(store, &me, now)?])).await.map_err(|e| (e, None)),
        AgentCommand::Read { session, seq } => {
            state.run(move |core, store| core.agent_read(store, &me, &session, seq).map(|_| vec![])).await.map_err(|e| (e, None))
        }
    };
    match result {
        Ok(events) => events,
        Err((e, client_id)) => vec![error_event(&e, client_id)],
    }
}
