//! `GET /metrics` (Prometheus) and `GET /healthz`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::AppError;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz))
}

/// Counters say how busy a centre is and who is online: with `server.metrics_token` set, only
/// `Authorization: Bearer <token>` reads them; without one, only the machine itself (loopback).
async fn metrics(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    let allowed = match &state.config().metrics_token {
        Some(token) => {
            let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
            given.is_some_and(|g| crate::identity::constant_time_eq(g.as_bytes(), token.as_bytes()))
        }
        None => peer.ip().is_loopback(),
    };
    if !allowed {
        return AppError::Unauthorized.into_response();
    }
    let hub = &state.core.hub;
    let mut text = state.core.metrics.render(hub.visitor_count(), hub.agent_socket_count());
    let db = state.db.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    for (name, help, value) in [
        ("consult_busy_total", "Requests refused as busy: the storage queue was full or too slow; nothing was stored.", load(&db.busy)),
        ("consult_db_commits_total", "Storage transactions committed (each one fsync with durability full).", load(&db.commits)),
        ("consult_db_jobs_total", "Storage jobs run; jobs per commit is the group-commit batch size.", load(&db.jobs)),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    }
    let leader = u8::from(state.core.leader.load(std::sync::atomic::Ordering::SeqCst));
    text.push_str(&format!(
        "# HELP consult_timed_work_leader 1 on the node that runs the cluster's timed work (always 1 on a single node).\n# TYPE consult_timed_work_leader gauge\nconsult_timed_work_leader {leader}\n"
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.call(|s| s.agent_loads()).await {
        Ok(_) => (axum::http::StatusCode::OK, "ok"),
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
