//! `/`: the tickets for sale, as a table of Title / Price / Link.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::api::Forwarded;
use crate::models::Ticket;
use crate::page::{self, Layout, PageError};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
    tickets: Vec<Ticket>,
}

/// `GET /`: every unreserved ticket.
pub async fn landing(
    State(state): State<AppState>,
    forwarded: Forwarded,
) -> Result<Response, PageError> {
    let (user, tickets) = tokio::join!(
        state.api.current_user(&forwarded),
        state.api.get::<Vec<Ticket>>(&forwarded, "/api/tickets"),
    );
    Ok(page::ok(&LandingPage {
        layout: Layout::new("Tickets", user?),
        tickets: tickets?.body,
    }))
}
