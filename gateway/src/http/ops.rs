//! `GET /metrics` (Prometheus) and `GET /healthz`.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let hub = &state.core.hub;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.core.metrics.render(hub.visitor_count(), hub.agent_socket_count()))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.call(|s| s.agent_loads()).await {
        Ok(_) => (axum::http::StatusCode::OK, "ok"),
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
