//! HTTP handlers and pages of the day workflow.

use axum::Router;

use super::State;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
}
