//! `/auth/signin`: the sign-in form, and starting a session.

use axum::extract::State;
use axum::response::Response;

use super::auth_form::{Credentials, SIGN_IN};
use crate::api::Forwarded;
use crate::csrf::CsrfToken;
use crate::form::PageForm;
use crate::page::PageError;
use crate::state::AppState;

/// `GET /auth/signin`.
pub async fn sign_in_form(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
) -> Result<Response, PageError> {
    SIGN_IN.show(&state, &forwarded, csrf_token).await
}

/// `POST /auth/signin`: `303 /` signed in, or the form again with the API's messages.
pub async fn sign_in(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    PageForm(credentials): PageForm<Credentials>,
) -> Result<Response, PageError> {
    SIGN_IN
        .submit(&state, &forwarded, csrf_token, credentials)
        .await
}
