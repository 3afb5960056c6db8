//! The `/api/users` endpoints: the original's four, and banning.

mod ban;
mod current_user;
mod sign_in;
mod sign_out;
mod sign_up;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use ban::{ban, unban};
pub use current_user::current_user;
pub use sign_in::sign_in;
pub use sign_out::sign_out;
pub use sign_up::sign_up;

/// The auth routes that reach the database, the bus or the hashing pool.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/signup", post(sign_up))
        .route("/api/users/signin", post(sign_in))
        .route("/api/users/signout", post(sign_out))
        .route("/api/users/{id}/ban", post(ban).delete(unban))
}

/// The routes answered from the request alone (see `common::server::app_with_instant`).
pub fn instant_router() -> Router<AppState> {
    Router::new().route("/api/users/currentuser", get(current_user))
}
