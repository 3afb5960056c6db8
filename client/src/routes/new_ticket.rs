//! `/tickets/new`: the sell form ("Create a Ticket"), and creating the ticket.
//!
//! Only for signed-in users; others are sent to the sign-in page. The price is sent with two
//! decimals, as a string, like the original's form (`"12.5"` → `"12.50"`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::form::PageForm;
use crate::page::{self, Layout, PageError};
use crate::price;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "new_ticket.html")]
struct NewTicketPage {
    layout: Layout,
    title: String,
    price: String,
    errors: Vec<String>,
    csrf_token: CsrfToken,
}

/// The posted form.
#[derive(Debug, Deserialize)]
pub struct TicketFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    price: String,
}

/// What `POST /api/tickets` gets.
#[derive(Serialize)]
struct NewTicket {
    title: String,
    price: String,
}

/// `GET /tickets/new`: the empty form.
pub async fn new_ticket_form(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
) -> Result<Response, PageError> {
    let user = state
        .api
        .current_user(&forwarded)
        .await?
        .ok_or(PageError::SignInRequired)?;
    Ok(page::ok(&NewTicketPage {
        layout: Layout::new("Create a Ticket", Some(user)),
        title: String::new(),
        price: String::new(),
        errors: Vec::new(),
        csrf_token,
    }))
}

/// `POST /tickets/new`: `303 /` once created, or the form again with the API's messages.
pub async fn create_ticket(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    PageForm(fields): PageForm<TicketFields>,
) -> Result<Response, PageError> {
    let body = NewTicket {
        price: price::normalise(&fields.price),
        title: fields.title,
    };
    let created = state
        .api
        .post::<serde_json::Value>(&forwarded, "/api/tickets", &body)
        .await;
    match created {
        Ok(_) => Ok(page::see_other("/", Vec::new())),
        Err(ApiFailure::Rejected(rejection)) if rejection.status != StatusCode::UNAUTHORIZED => {
            let user = state.api.current_user(&forwarded).await?;
            let page = NewTicketPage {
                layout: Layout::new("Create a Ticket", user),
                title: body.title,
                price: body.price,
                errors: rejection.messages,
                csrf_token,
            };
            Ok(page::render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(failure) => Err(failure.into()),
    }
}
