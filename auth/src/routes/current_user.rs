//! `GET /api/users/currentuser`: who the session belongs to.

use common::{Json, MaybeCurrentUser};
use serde_json::{Value, json};

/// 200 `{"currentUser": {id, email, iat, exp}}` for a valid session, else
/// `{"currentUser": null}`; never 401.
pub async fn current_user(MaybeCurrentUser(user): MaybeCurrentUser) -> Json<Value> {
    Json(json!({ "currentUser": user }))
}
