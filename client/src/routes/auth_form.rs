//! The sign-up and sign-in pages: one form (Email Address, Password), two API endpoints.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::page::{self, Layout, PageError};
use crate::state::AppState;

/// What tells the two forms apart.
pub(super) struct AuthForm {
    /// Heading, title and button: "Sign Up" / "Sign In".
    heading: &'static str,
    /// Where the form posts.
    action: &'static str,
    /// The API endpoint it calls.
    api_path: &'static str,
    /// What password managers should offer.
    password_autocomplete: &'static str,
}

pub(super) const SIGN_UP: AuthForm = AuthForm {
    heading: "Sign Up",
    action: "/auth/signup",
    api_path: "/api/users/signup",
    password_autocomplete: "new-password",
};

pub(super) const SIGN_IN: AuthForm = AuthForm {
    heading: "Sign In",
    action: "/auth/signin",
    api_path: "/api/users/signin",
    password_autocomplete: "current-password",
};

#[derive(Template)]
#[template(path = "auth.html")]
struct AuthPage {
    layout: Layout,
    heading: &'static str,
    action: &'static str,
    password_autocomplete: &'static str,
    email: String,
    errors: Vec<String>,
    csrf_token: CsrfToken,
}

/// The posted form, sent on to the API as JSON.
#[derive(Debug, Deserialize, Serialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

impl AuthForm {
    /// The empty form.
    pub(super) async fn show(
        &self,
        state: &AppState,
        forwarded: &Forwarded,
        csrf_token: CsrfToken,
    ) -> Result<Response, PageError> {
        let user = state.api.current_user(forwarded).await?;
        Ok(page::ok(&self.page(
            Layout::new(self.heading, user),
            String::new(),
            Vec::new(),
            csrf_token,
        )))
    }

    /// Calls the API; on success relays the session cookie and goes to `/`, otherwise shows the
    /// form again with each message and the email as typed.
    pub(super) async fn submit(
        &self,
        state: &AppState,
        forwarded: &Forwarded,
        csrf_token: CsrfToken,
        credentials: Credentials,
    ) -> Result<Response, PageError> {
        let answer = state
            .api
            .post::<serde_json::Value>(forwarded, self.api_path, &credentials)
            .await;
        match answer {
            Ok(answer) => Ok(page::see_other("/", answer.set_cookies)),
            Err(ApiFailure::Rejected(rejection)) => {
                let user = state.api.current_user(forwarded).await?;
                let layout = Layout::new(self.heading, user);
                let page = self.page(layout, credentials.email, rejection.messages, csrf_token);
                Ok(page::render(StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(failure) => Err(failure.into()),
        }
    }

    fn page(
        &self,
        layout: Layout,
        email: String,
        errors: Vec<String>,
        csrf_token: CsrfToken,
    ) -> AuthPage {
        AuthPage {
            layout,
            heading: self.heading,
            action: self.action,
            password_autocomplete: self.password_autocomplete,
            email,
            errors,
            csrf_token,
        }
    }
}
