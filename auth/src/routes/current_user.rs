//! `GET /api/users/currentuser`: who the session belongs to.

use common::{Claims, Json, MaybeCurrentUser};
use serde::Serialize;

/// The answer, serialised straight from the claims (no intermediate JSON value: this is the
/// platform's most frequent request).
#[derive(Debug, Serialize)]
pub struct CurrentUserBody {
    #[serde(rename = "currentUser")]
    current_user: Option<Claims>,
}

/// 200 `{"currentUser": {id, email, iat, exp}}` for a valid session, else
/// `{"currentUser": null}`; never 401.
pub async fn current_user(MaybeCurrentUser(user): MaybeCurrentUser) -> Json<CurrentUserBody> {
    Json(CurrentUserBody { current_user: user })
}
