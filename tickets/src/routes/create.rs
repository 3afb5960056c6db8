//! `POST /api/tickets`: a signed-in user puts a ticket up for sale.

use axum::extract::State;
use axum::http::StatusCode;
use common::validation::{Checks, Valid, Validate};
use common::{ApiError, CurrentUser, Json};
use serde::Deserialize;

use crate::models::Ticket;
use crate::routes::TicketForm;
use crate::state::AppState;

/// The create body.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CreateTicketBody(TicketForm);

impl Validate for CreateTicketBody {
    fn validate(&self, checks: &mut Checks) {
        self.0.check(checks, "Price must be greater than 0");
    }
}

/// 201 with the new ticket (version 0); `ticket:created` goes out through the outbox.
/// Anonymous users get 401 before their body is looked at.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets",
    request_body = TicketForm,
    security(("session" = [])),
    responses((status = 201, description = "The new ticket, at version 0", body = Ticket)))]
pub async fn create_ticket(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    Valid(body): Valid<CreateTicketBody>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let (title, price) = body.0.into_parts();
    let ticket = state.tickets.create(title, price, user.id).await?;
    Ok((StatusCode::CREATED, Json(ticket.into())))
}
