//! The one endpoint: `POST /api/payments`, and the rate limits of its attempts.

mod create;
pub mod limits;

use axum::Router;
use axum::routing::post;

use crate::state::AppState;

pub use create::create_payment;

/// The payments routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/payments", post(create_payment))
}
