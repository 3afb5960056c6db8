//! `GET /api/tickets`: the tickets still for sale.

use axum::extract::State;
use common::{ApiError, Json};

use crate::models::Ticket;
use crate::startup::AppState;

/// 200 with every unreserved ticket, oldest first.
pub async fn list_tickets(State(state): State<AppState>) -> Result<Json<Vec<Ticket>>, ApiError> {
    let tickets = state.tickets.list_available().await?;
    Ok(Json(tickets.into_iter().map(Ticket::from).collect()))
}
