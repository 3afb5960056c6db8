//! `POST /api/users/signout`: end the session.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use common::Json;
use serde_json::json;

use crate::startup::AppState;

/// 200 `{}` and a cookie that expires `session`, whether or not one was sent.
pub async fn sign_out(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::SET_COOKIE, state.sessions.clearing_cookie())],
        Json(json!({})),
    )
}
