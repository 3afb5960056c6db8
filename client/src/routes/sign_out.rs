//! `/auth/signout`: ends the session and goes home.
//!
//! The original's page posted to the API as soon as it was opened; here the server does it
//! before answering, so it works without JavaScript, and relays the cookie that clears the
//! session.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::api::Forwarded;
use crate::page::{self, PageError};
use crate::startup::AppState;

/// `GET` or `POST /auth/signout`: `303 /` with the API's clearing `Set-Cookie`.
pub async fn sign_out(
    State(state): State<AppState>,
    forwarded: Forwarded,
) -> Result<Response, PageError> {
    let answer = state
        .api
        .post::<serde_json::Value>(&forwarded, "/api/users/signout", &json!({}))
        .await?;
    Ok(page::see_other("/", answer.set_cookies))
}
