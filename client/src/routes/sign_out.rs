//! `/auth/signout`: a page asking to sign out, and ending the session.
//!
//! The original's page posted to the API as soon as it was opened. Here opening it (the
//! header's "Sign Out" link) only shows a one-button form: a GET changes nothing, so another
//! site cannot sign a visitor out with a link or an image. The form's post ends the session on
//! the server, so it works without JavaScript, and relays the cookie that clears it.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::api::Forwarded;
use crate::csrf::CsrfToken;
use crate::page::{self, Layout, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "sign_out.html")]
struct SignOutPage {
    layout: Layout,
    email: String,
    csrf_token: CsrfToken,
}

/// `GET /auth/signout`: the Sign Out button; signed-out visitors go home.
pub async fn sign_out_form(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
) -> Result<Response, PageError> {
    let Some(user) = state.api.current_user(&forwarded).await? else {
        return Ok(page::see_other("/", Vec::new()));
    };
    Ok(page::ok(&SignOutPage {
        email: user.email.clone(),
        layout: Layout::new("Sign Out", Some(user)),
        csrf_token,
    }))
}

/// `POST /auth/signout`: `303 /` with the API's clearing `Set-Cookie`.
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
