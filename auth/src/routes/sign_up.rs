//! `POST /api/users/signup`: create a user and start their session.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::client_address::ClientAddress;
use common::error::ErrorEnvelope;
use common::server::Client;
use common::validation::{Checks, Valid, Validate, has_length, is_email, trimmed_string};
use common::{ApiError, Json};
use serde::Deserialize;

use crate::models::user::{CreateUserError, User, normalize_email};
use crate::state::AppState;

/// The sign-up body; both fields trimmed (the stored password is the trimmed one).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignUpBody {
    #[serde(default, deserialize_with = "trimmed_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    email: String,
    #[serde(default, deserialize_with = "trimmed_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    password: String,
}

impl Validate for SignUpBody {
    fn validate(&self, checks: &mut Checks) {
        checks
            .check("email", is_email(&self.email), "Email must be valid")
            .check(
                "password",
                has_length(&self.password, 4, 20),
                "Password must be between 4 and 20 characters",
            );
    }
}

/// 201 `{email, id}` with a session cookie; 400 `"Email in use"` for a taken email; 429 with
/// `Retry-After`, before any hashing, once the client's address is over its limit.
#[utoipa::path(post, path = "/api/users/signup", tag = "users",
    request_body = SignUpBody,
    responses(
        (status = 201, description = "Signed up: the new user, and a session cookie", body = User,
            headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, description = "A field fails its check, or the email is in use", body = ErrorEnvelope),
        (status = 429, description = "Too many sign-ups from this address",
            body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn sign_up(
    State(state): State<AppState>,
    client: Client,
    address: ClientAddress,
    Valid(body): Valid<SignUpBody>,
) -> Result<impl IntoResponse, ApiError> {
    state.limits.check_sign_up(address)?;
    let email = normalize_email(&body.email);
    // A cheap early answer for the common case; the unique index settles races below.
    if state.users.find_by_email(&email).await?.is_some() {
        return Err(email_in_use());
    }
    // Skipped for a client that hung up while it queued: nothing is written yet.
    let password_hash = client
        .unless_hung_up(state.passwords.hash(body.password))
        .await??;
    let user = state
        .users
        .create(&email, &password_hash)
        .await
        .map_err(|error| match error {
            CreateUserError::EmailInUse => email_in_use(),
            CreateUserError::Database(error) => error.into(),
        })?;
    let (_, token) = state.sessions.issue(&user.id, &user.email)?;
    let cookie = state.sessions.cookie_for(&token)?;
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(user),
    ))
}

fn email_in_use() -> ApiError {
    ApiError::bad_request("Email in use")
}
