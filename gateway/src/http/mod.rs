//! The HTTP surface, one module per area, each with its own router.

pub mod admin;
pub mod agent;
pub mod assets;
pub mod counsel;
pub mod launch;
pub mod ops;
pub mod pages;
pub mod uploads;
pub mod visitor;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::{AppError, typed_errors};

/// Every route. Errors from anywhere (extractors, unknown paths) leave as the typed JSON body,
/// and no response may be content-sniffed.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(launch::router())
        .merge(visitor::router())
        .merge(agent::router())
        .merge(admin::router())
        .merge(uploads::router())
        .merge(pages::router())
        .merge(ops::router())
        .merge(counsel::router())
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::map_response(typed_errors))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .with_state(state)
}
