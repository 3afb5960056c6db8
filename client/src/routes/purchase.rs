//! `POST /tickets/:ticketId/purchase`: the Purchase button. Reserves the ticket with a new
//! order and goes to the order's page to pay; a refusal ("Ticket is already reserved") is shown
//! on the ticket page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::object_id;
use super::show_ticket::{load, ticket_page};
use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::models::Created;
use crate::page::{self, PageError};
use crate::state::AppState;

/// `303 /orders/:orderId`, `303 /auth/signin` when signed out, or the ticket page with the
/// API's messages.
pub async fn purchase_ticket(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    Path(ticket_id): Path<String>,
) -> Result<Response, PageError> {
    let ticket_id = object_id(&ticket_id)?;
    let created = state
        .api
        .post::<Created>(&forwarded, "/api/orders", &json!({ "ticketId": ticket_id }))
        .await;
    match created {
        Ok(answer) => {
            let order_id = object_id(&answer.body.id)
                .map_err(|_| anyhow::anyhow!("the new order has no usable id"))?;
            Ok(page::see_other(&format!("/orders/{order_id}"), Vec::new()))
        }
        Err(ApiFailure::Rejected(rejection)) if rejection.status != StatusCode::UNAUTHORIZED => {
            let (user, ticket) = load(&state, &forwarded, ticket_id).await?;
            Ok(ticket_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                user,
                ticket,
                rejection.messages,
                csrf_token,
            ))
        }
        Err(failure) => Err(failure.into()),
    }
}
