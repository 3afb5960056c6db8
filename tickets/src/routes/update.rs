//! `PUT /api/tickets/:id`: the owner changes a ticket's title and price.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use common::error::ErrorEnvelope;
use common::mongo::parse_object_id;
use common::validation::{Checks, Valid, Validate};
use common::{ApiError, CurrentUser, Json};
use serde::Deserialize;

use crate::models::{ChangeError, EditRefusal, Ticket};
use crate::routes::TicketForm;
use crate::state::AppState;

/// The update body.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct UpdateTicketBody(TicketForm);

impl Validate for UpdateTicketBody {
    fn validate(&self, checks: &mut Checks) {
        self.0
            .check(checks, "Price must be provided and must be greater than 0");
    }
}

/// 200 with the saved ticket (version + 1); `ticket:updated` goes out through the outbox.
///
/// Checks in the original's order (docs/decisions.md #6): signed in (401), the body (400), the ticket exists
/// (404; a malformed id is 400), the user owns it (401), it is not reserved (400).
#[utoipa::path(put, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "The ticket's id: 24 hex digits")),
    request_body = TicketForm,
    security(("session" = [])),
    responses(
        (status = 200, description = "The saved ticket, one version on", body = Ticket),
        (status = 400, description = "A field fails its check, or the ticket is reserved", body = ErrorEnvelope),
        (status = 401, description = "No valid session, or the ticket is someone else's", body = ErrorEnvelope),
        (status = 404, description = "No such ticket", body = ErrorEnvelope),
    ))]
pub async fn update_ticket(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    Valid(body): Valid<UpdateTicketBody>,
) -> Result<Json<Ticket>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::malformed())?;
    let id = parse_object_id(&id)?;
    let (title, price) = body.0.into_parts();
    let ticket = state
        .tickets
        .edit(id, &user.id, &title, price)
        .await
        .map_err(|error| match error {
            ChangeError::NotFound => ApiError::NotFound,
            ChangeError::Refused(EditRefusal::NotOwner) => ApiError::NotAuthorized,
            ChangeError::Refused(EditRefusal::Reserved) => {
                ApiError::bad_request("Cannot edit a reserved ticket")
            }
            other => ApiError::Internal(other.into()),
        })?;
    Ok(Json(ticket.into()))
}
