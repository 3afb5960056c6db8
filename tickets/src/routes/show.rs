//! `GET /api/tickets/:id`: one ticket, reserved or not.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use common::error::ErrorEnvelope;
use common::mongo::parse_object_id;
use common::{ApiError, Json};

use crate::models::Ticket;
use crate::state::AppState;

/// 200 with the ticket (with `orderId` while reserved); 404 when there is none; 400
/// `"Something went wrong"` for a malformed id.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "The ticket's id: 24 hex digits")),
    responses(
        (status = 200, description = "The ticket, with `orderId` while it is reserved", body = Ticket),
        (status = 404, description = "No such ticket", body = ErrorEnvelope),
    ))]
pub async fn show_ticket(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::malformed())?;
    let ticket = state
        .tickets
        .find(parse_object_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ticket.into()))
}
