//! `POST /api/users/signout`: end the session.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use common::{ApiError, Json, MaybeCurrentUser};
use serde_json::json;

use crate::state::AppState;

/// 200 `{}` and a cookie that expires `session`, whether or not one was sent. A valid session's
/// token is revoked first, so a copy of the cookie kept elsewhere no longer works anywhere; if
/// the bus does not take the revocation, 503 and the session stays as it was.
#[utoipa::path(post, path = "/api/users/signout", tag = "users",
    responses(
        (status = 200, description = "Signed out: an empty object, and a cookie that ends the session",
            body = Object,
            headers(("Set-Cookie" = String, description = "An expired session cookie"))),
    ))]
pub async fn sign_out(
    State(state): State<AppState>,
    MaybeCurrentUser(user): MaybeCurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(claims) = user {
        state
            .revocations
            .revoke(&claims)
            .await
            .map_err(ApiError::Unavailable)?;
    }
    Ok((
        [(header::SET_COOKIE, state.sessions.clearing_cookie())],
        Json(json!({})),
    ))
}
