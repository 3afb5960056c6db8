//! `POST /api/users/:id/ban` and `DELETE /api/users/:id/ban`: an admin locks a user out of
//! every service, or lets them back in.

use axum::extract::{Path, State};
use common::error::ErrorEnvelope;
use common::{ApiError, CurrentUser, Json};
use serde::Serialize;

use crate::models::user::User;
use crate::state::AppState;

/// The answer: the user and whether they are banned now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BanBody {
    #[serde(flatten)]
    user: User,
    banned: bool,
}

/// 200 `{email, id, banned: true}`: the user can no longer sign in, and every token issued to
/// them is refused by every service within moments.
#[utoipa::path(post, path = "/api/users/{id}/ban", tag = "users",
    params(("id" = String, Path, description = "The user's id: 24 hex digits")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user, banned", body = BanBody),
        (status = 401, description = "No valid session, or not an admin's", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    ))]
pub async fn ban(
    state: State<AppState>,
    admin: CurrentUser,
    id: Path<String>,
) -> Result<Json<BanBody>, ApiError> {
    set_banned(state, admin, id, true).await
}

/// 200 `{email, id, banned: false}`: the user may sign in again; tokens issued before now
/// stay refused.
#[utoipa::path(delete, path = "/api/users/{id}/ban", tag = "users",
    params(("id" = String, Path, description = "The user's id: 24 hex digits")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user, no longer banned", body = BanBody),
        (status = 401, description = "No valid session, or not an admin's", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    ))]
pub async fn unban(
    state: State<AppState>,
    admin: CurrentUser,
    id: Path<String>,
) -> Result<Json<BanBody>, ApiError> {
    set_banned(state, admin, id, false).await
}

/// 401 unless the session is an admin's; 404 for an id that names no user (400 for one that is
/// no id at all, as everywhere). The user's record
/// changes first (sign-in is refused at once), then the bucket that every service follows; if
/// the bus does not take it, 503, and asking again finishes the job.
async fn set_banned(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    Path(id): Path<String>,
    banned: bool,
) -> Result<Json<BanBody>, ApiError> {
    if !state.admins.contains(&admin.email) {
        return Err(ApiError::NotAuthorized);
    }
    let id = common::mongo::parse_object_id(&id)?;
    let user = state
        .users
        .set_banned(id, banned)
        .await?
        .ok_or(ApiError::NotFound)?;
    let user = User::from(&user);
    let written = if banned {
        state.revocations.ban(&user.id).await
    } else {
        state.revocations.unban(&user.id).await
    };
    written.map_err(ApiError::Unavailable)?;
    tracing::info!(user = %user.id, by = %admin.id, banned, "ban changed");
    Ok(Json(BanBody { user, banned }))
}
