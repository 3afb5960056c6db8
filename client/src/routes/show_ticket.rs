//! `/tickets/:ticketId`: one ticket, its price, and the Purchase button.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::object_id;
use crate::api::{Forwarded, User};
use crate::csrf::CsrfToken;
use crate::models::Ticket;
use crate::page::{self, Layout, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "ticket.html")]
pub(super) struct TicketPage {
    layout: Layout,
    ticket: Ticket,
    errors: Vec<String>,
    csrf_token: CsrfToken,
}

/// `GET /tickets/:ticketId`; 404 page for a ticket that does not exist.
pub async fn show_ticket(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    Path(ticket_id): Path<String>,
) -> Result<Response, PageError> {
    let (user, ticket) = load(&state, &forwarded, &ticket_id).await?;
    Ok(ticket_page(
        StatusCode::OK,
        user,
        ticket,
        Vec::new(),
        csrf_token,
    ))
}

/// The visitor and the ticket, asked for together.
pub(super) async fn load(
    state: &AppState,
    forwarded: &Forwarded,
    ticket_id: &str,
) -> Result<(Option<User>, Ticket), PageError> {
    let path = format!("/api/tickets/{}", object_id(ticket_id)?);
    let (user, ticket) = tokio::join!(
        state.api.current_user(forwarded),
        state.api.get::<Ticket>(forwarded, &path),
    );
    Ok((user?, ticket?.body))
}

/// The ticket page, with `errors` in its alert.
pub(super) fn ticket_page(
    status: StatusCode,
    user: Option<User>,
    ticket: Ticket,
    errors: Vec<String>,
    csrf_token: CsrfToken,
) -> Response {
    let page = TicketPage {
        layout: Layout::new(ticket.title.clone(), user),
        ticket,
        errors,
        csrf_token,
    };
    page::render(status, &page)
}
