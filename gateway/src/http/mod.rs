//! The HTTP surface, one module per area, each with its own router.

pub mod agent;
pub mod assets;
pub mod launch;
pub mod ops;
pub mod pages;
pub mod uploads;
pub mod visitor;

use axum::Router;

use crate::AppState;

/// Every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(launch::router())
        .merge(visitor::router())
        .merge(agent::router())
        .merge(uploads::router())
        .merge(pages::router())
        .merge(ops::router())
        .with_state(state)
}
