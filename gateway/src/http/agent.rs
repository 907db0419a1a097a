//! `POST /v1/agent/login` and `GET /v1/agent/socket?token=…`: the agent desk's protocol.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult_sdk::protocol::{AgentCommand, AgentEvent, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::identity::{password_matches, random_token};
use crate::{AppState, now_ms};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/agent/login", post(login))
        .route("/v1/agent/logout", post(logout))
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

async fn login(State(state): State<AppState>, Json(req): Json<LoginRequest>) -> Result<Json<LoginResponse>, AppError> {
    let expected = state.config().agent(&req.agent_id).map(|a| a.password.clone());
    // argon2 takes tens of milliseconds on purpose: keep it off the async workers.
    let ok = match expected {
        Some(pw) => tokio::task::spawn_blocking(move || password_matches(&pw, &req.password)).await.unwrap_or(false),
        None => false,
    };
    let agent = state.config().agent(&req.agent_id).filter(|_| ok);
    let Some(agent) = agent else {
        tracing::info!(agent = %req.agent_id, "agent login refused");
        return Err(AppError::Unauthorized);
    };
    // 256 random bits; only their SHA-256 is stored, so a copy of the database signs no one in.
    let token = random_token(32);
    let (hash, id, now) = (token_hash(&token), agent.id.clone(), now_ms());
    state.db.call(move |s| s.agent_token_put(&hash, &id, now, now + AGENT_SESSION_MS)).await?;
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

#[derive(Deserialize)]
struct LogoutRequest {
    token: String,
}

/// Signs a desk out: the token stops working at once, also for open sockets' next sign-in.
async fn logout(State(state): State<AppState>, Json(req): Json<LogoutRequest>) -> Result<StatusCode, AppError> {
    let hash = token_hash(&req.token);
    state.db.call(move |s| s.agent_token_delete(&hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SocketQuery {
    token: String,
}

async fn upgrade(State(state): State<AppState>, Query(q): Query<SocketQuery>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let agent = match agent_for_token(&state, &q.token).await {
        Ok(Some(agent)) => agent,
        Ok(None) => return AppError::Unauthorized.into_response(),
        Err(e) => return e.into_response(),
    };
    // The desk lives on the gateway's own origin.
    if let Some(o) = headers.get("origin").and_then(|v| v.to_str().ok())
        && state.own_origin(&headers).as_deref() != Some(&o.to_ascii_lowercase())
    {
        return AppError::OriginNotAllowed(o.into()).into_response();
    }
    ws.max_message_size(64 * 1024).on_upgrade(move |socket| run(state, socket, agent))
}

fn text(event: &AgentEvent) -> Message {
    Message::Text(serde_json::to_string(event).unwrap_or_default().into())
}

fn error_event(e: &AppError, client_id: Option<String>) -> AgentEvent {
    let body = e.body();
    AgentEvent::Error { code: body.code, message: body.message, client_id }
}

async fn run(state: AppState, socket: WebSocket, agent: String) {
    let (mut sink, mut stream) = socket.split();
    match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<AgentCommand>(&t) {
            Ok(AgentCommand::Hello { version }) if version == PROTOCOL_VERSION => {}
            _ => {
                let e = AgentEvent::Error { code: consult_sdk::protocol::codes::HELLO_FIRST.into(), message: format!("send hello with version {PROTOCOL_VERSION} first"), client_id: None };
                let _ = sink.send(text(&e)).await;
                return;
            }
        },
        _ => return,
    }
    let a = agent.clone();
    let start = state
        .run(move |core, store| {
            let (id, rx) = core.hub.add_agent(&a);
            let me = core.config.agent(&a).ok_or(AppError::Unauthorized)?;
            let queue = store.queued()?.into_iter().filter(|s| me.works(&s.channel)).map(|s| s.summary()).collect();
            let chats = store.agent_sessions(&a)?.into_iter().map(|s| s.summary()).collect();
            Ok((id, rx, AgentEvent::Welcome {
                agent_id: a.clone(),
                agent_name: me.name.clone(),
                queue,
                chats,
                canned: core.config.canned.clone(),
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
    while ok {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                ok = sink.send(text(&event)).await.is_ok();
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
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
                let row = store.session(&session)?.ok_or(AppError::NotFound)?;
                if !core.config.agent(&me).is_some_and(|a| a.works(&row.channel)) {
                    return Err(AppError::NotFound);
                }
                let messages = store.session_messages(&session, after_seq, 10_000)?;
                let mut out = vec![AgentEvent::Session { session: row.summary() }];
                out.extend(messages.into_iter().map(|message| AgentEvent::Message { session: session.clone(), message }));
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
                let row = store.session(&session)?.ok_or(AppError::NotFound)?;
                if row.agent.as_deref() == Some(me.as_str()) && row.is_open() {
                    core.hub.to_visitors(&row.conversation, &consult_sdk::protocol::VisitorEvent::Typing { active });
                }
                Ok(vec![])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Transfer { session, to_agent } => state
            .run(move |core, store| core.transfer(store, &me, &session, &to_agent, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Close { session } => state
            .run(move |core, store| {
                let row = store.session(&session)?.ok_or(AppError::NotFound)?;
                let supervisor = core.config.agent(&me).is_some_and(|a| a.role == crate::config::Role::Supervisor);
                if row.agent.as_deref() != Some(me.as_str()) && !supervisor {
                    return Err(AppError::AgentWrite(crate::store::AgentWriteError::NotAssigned));
                }
                core.close(store, &session, consult_sdk::protocol::CloseReason::AgentClosed, now)?;
                Ok(vec![])
            })
            .await
            .map_err(|e| (e, None)),
        AgentCommand::Block { session, days, reason } => state
            .run(move |core, store| core.block(store, &me, &session, days, &reason, now).map(|_| vec![]))
            .await
            .map_err(|e| (e, None)),
        AgentCommand::History { user_key } => state
            .run(move |core, store| {
                let a = core.config.agent(&me).ok_or(AppError::Unauthorized)?;
                let mut sessions = Vec::new();
                for channel in core.config.channels.iter().filter(|c| a.works(&c.id)) {
                    sessions.extend(store.history(&channel.id, &user_key, 50)?.into_iter().map(|s| s.summary()));
                }
                sessions.sort_by_key(|s| std::cmp::Reverse(s.opened_ms));
                Ok(vec![AgentEvent::History { user_key, sessions }])
            })
            .await
            .map_err(|e| (e, None)),
    };
    match result {
        Ok(events) => events,
        Err((e, client_id)) => vec![error_event(&e, client_id)],
    }
}
