//! `POST /api/users/signin`: check credentials and start a fresh session.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use common::client_address::ClientAddress;
use common::error::ErrorEnvelope;
use common::server::Client;
use common::validation::{Checks, Valid, Validate, is_email, is_present, trimmed_string};
use common::{ApiError, Json};
use serde::Deserialize;

use crate::metrics::SignIn;
use crate::models::user::{User, normalize_email};
use crate::state::AppState;

/// Why a banned user's right password gets no session. Only the password's owner sees it, so
/// it tells nobody else that the account exists.
pub(crate) const BANNED: &str = "This account has been banned";

/// The sign-in body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInBody {
    #[serde(default, deserialize_with = "trimmed_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    email: String,
    #[serde(default, deserialize_with = "trimmed_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    password: String,
}

impl Validate for SignInBody {
    fn validate(&self, checks: &mut Checks) {
        checks
            .check("email", is_email(&self.email), "Email must be valid")
            .check(
                "password",
                is_present(&self.password),
                "You must supply a password",
            );
    }
}

/// 200 `{email, id}` with a new session cookie. An unknown email and a wrong password get the
/// same answer, `"Invalid credentials"`, after the same amount of hashing; a banned user's right
/// password gets 400 [`BANNED`]. 429 with
/// `Retry-After`, before any hashing, once the email or the client's address is over its
/// limit (see [`crate::limits`]).
#[utoipa::path(post, path = "/api/users/signin", tag = "users",
    request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in: the user, and a new session cookie", body = User,
            headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, description = "A field fails its check, invalid credentials, or a banned account", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts for this email or from this address",
            body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    client: Client,
    address: ClientAddress,
    Valid(body): Valid<SignInBody>,
) -> Result<impl IntoResponse, ApiError> {
    let email = normalize_email(&body.email);
    // Each decided attempt is counted by its outcome (see `crate::metrics`).
    if let Err(refused) = state.limits.check_sign_in(&email, address) {
        SignIn::RateLimited.record();
        return Err(refused);
    }
    let existing = state.users.find_by_email(&email).await?;
    let stored_hash = existing.as_ref().map(|user| user.password.clone());
    let valid = client
        .unless_hung_up(state.passwords.verify(body.password, stored_hash))
        .await??;
    let user = match existing {
        Some(user) if valid && user.banned_at.is_some() => {
            SignIn::Failure.record();
            return Err(ApiError::bad_request(BANNED));
        }
        Some(user) if valid => User::from(&user),
        _ => {
            SignIn::Failure.record();
            return Err(ApiError::bad_request("Invalid credentials"));
        }
    };
    let (_, token) = state.sessions.issue(&user.id, &user.email)?;
    let cookie = state.sessions.cookie_for(&token)?;
    SignIn::Success.record();
    Ok(([(header::SET_COOKIE, cookie)], Json(user)))
}
