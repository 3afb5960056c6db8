//! `/auth/signup`: the sign-up form, and creating the account.

use axum::extract::State;
use axum::response::Response;

use super::auth_form::{Credentials, SIGN_UP};
use crate::api::Forwarded;
use crate::csrf::CsrfToken;
use crate::form::PageForm;
use crate::page::PageError;
use crate::state::AppState;

/// `GET /auth/signup`.
pub async fn sign_up_form(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
) -> Result<Response, PageError> {
    SIGN_UP.show(&state, &forwarded, csrf_token).await
}

/// `POST /auth/signup`: `303 /` signed in, or the form again with the API's messages.
pub async fn sign_up(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    PageForm(credentials): PageForm<Credentials>,
) -> Result<Response, PageError> {
    SIGN_UP
        .submit(&state, &forwarded, csrf_token, credentials)
        .await
}
