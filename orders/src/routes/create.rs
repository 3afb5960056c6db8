//! `POST /api/orders`: the user orders a ticket.

use axum::extract::State;
use axum::http::StatusCode;
use common::error::ErrorEnvelope;
use common::mongo::{is_valid_object_id, parse_object_id};
use common::validation::{Checks, INVALID_VALUE, Valid, Validate, is_present, lenient_string};
use common::{ApiError, CurrentUser, Json};
use serde::Deserialize;

use crate::models::{CreateOrderError, Order};
use crate::state::AppState;

/// The order body: `{ticketId}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateOrderBody {
    /// The id of the ticket to reserve: 24 hex digits.
    #[serde(default, rename = "ticketId", deserialize_with = "lenient_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    ticket_id: String,
}

impl Validate for CreateOrderBody {
    /// `body('ticketId').not().isEmpty().custom(isValid).withMessage(...)`: a missing or empty
    /// id fails both checks, so it gets two errors.
    fn validate(&self, checks: &mut Checks) {
        checks
            .check("ticketId", is_present(&self.ticket_id), INVALID_VALUE)
            .check(
                "ticketId",
                is_valid_object_id(&self.ticket_id),
                "TicketId must be provided",
            );
    }
}

/// A buyer's own ticket.
const OWN_TICKET: &str = "You cannot order your own ticket";
/// A buyer holding `MAX_UNPAID_ORDERS` unpaid orders.
const TOO_MANY_UNPAID: &str = "You have too many unpaid orders: pay for or cancel one first";

/// 201 with the new order (ticket embedded), which expires after the configured window.
/// 404 when the ticket is unknown; 400 `"Ticket is already reserved"` when an active order
/// holds it, [`OWN_TICKET`] for the seller, [`TOO_MANY_UNPAID`] past the buyer's limit.
#[utoipa::path(post, path = "/api/orders", tag = "orders",
    request_body = CreateOrderBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "The new order, its ticket embedded", body = Order),
        (status = 400, description = "A bad ticket id, the ticket is reserved or the user's own, or the user holds too many unpaid orders", body = ErrorEnvelope),
        (status = 404, description = "No such ticket", body = ErrorEnvelope),
    ))]
pub async fn create_order(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    Valid(body): Valid<CreateOrderBody>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let ticket_id = parse_object_id(&body.ticket_id)?;
    let order = state
        .orders
        .create(&user.id, ticket_id)
        .await
        .map_err(|error| match error {
            CreateOrderError::TicketNotFound => ApiError::NotFound,
            CreateOrderError::AlreadyReserved => {
                ApiError::bad_request("Ticket is already reserved")
            }
            CreateOrderError::OwnTicket => ApiError::bad_request(OWN_TICKET),
            CreateOrderError::TooManyUnpaid => ApiError::bad_request(TOO_MANY_UNPAID),
            CreateOrderError::Database(error) => error.into(),
        })?;
    crate::metrics::order_created();
    Ok((StatusCode::CREATED, Json(Order::from(&order))))
}
