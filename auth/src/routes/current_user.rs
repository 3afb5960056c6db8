//! `GET /api/users/currentuser`: who the session belongs to.

use common::{Claims, Json, MaybeCurrentUser};
use serde::Serialize;

/// The answer, serialised straight from the claims (no intermediate JSON value: this is the
/// platform's most frequent request).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentUserBody {
    /// The session's claims, or `null` without a valid session.
    #[serde(rename = "currentUser")]
    #[schema(required = true)]
    current_user: Option<Claims>,
}

/// 200 `{"currentUser": {id, email, iat, exp}}` for a valid session, else
/// `{"currentUser": null}`; never 401.
#[utoipa::path(get, path = "/api/users/currentuser", tag = "users",
    responses((status = 200, description = "Who the session belongs to, if anyone", body = CurrentUserBody)))]
pub async fn current_user(MaybeCurrentUser(user): MaybeCurrentUser) -> Json<CurrentUserBody> {
    Json(CurrentUserBody { current_user: user })
}
