//! `POST /api/orders`: the user orders a ticket.

use axum::extract::State;
use axum::http::StatusCode;
use common::validation::{Checks, INVALID_VALUE, Valid, Validate, is_present, lenient_string};
use common::{ApiError, CurrentUser, Json};
use mongodb::bson::oid::ObjectId;
use serde::Deserialize;

use crate::models::{CreateOrderError, Order};
use crate::startup::AppState;

/// The order body: `{ticketId}`.
#[derive(Debug, Deserialize)]
pub struct CreateOrderBody {
    #[serde(default, rename = "ticketId", deserialize_with = "lenient_string")]
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
                looks_like_object_id(&self.ticket_id),
                "TicketId must be provided",
            );
    }
}

/// mongoose's `ObjectId.isValid` for a string: 24 hex digits, or any 12 characters.
fn looks_like_object_id(text: &str) -> bool {
    ObjectId::parse_str(text).is_ok() || text.encode_utf16().count() == 12
}

/// The id `text` names: its 24 hex digits, or its 12 bytes as the original's driver reads a
/// 12-character string. Twelve characters that are not twelve bytes fail there, with 400
/// `"Something went wrong"`.
fn ticket_object_id(text: &str) -> Result<ObjectId, ApiError> {
    if let Ok(id) = ObjectId::parse_str(text) {
        return Ok(id);
    }
    <[u8; 12]>::try_from(text.as_bytes())
        .map(ObjectId::from_bytes)
        .map_err(|_| ApiError::malformed())
}

/// 201 with the new order (ticket embedded), which expires after the configured window.
/// 404 when the ticket is unknown; 400 `"Ticket is already reserved"` when an active order
/// holds it.
pub async fn create_order(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    Valid(body): Valid<CreateOrderBody>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let ticket_id = ticket_object_id(&body.ticket_id)?;
    let order = state
        .orders
        .create(&user.id, ticket_id)
        .await
        .map_err(|error| match error {
            CreateOrderError::TicketNotFound => ApiError::NotFound,
            CreateOrderError::AlreadyReserved => {
                ApiError::bad_request("Ticket is already reserved")
            }
            CreateOrderError::Database(error) => error.into(),
        })?;
    Ok((StatusCode::CREATED, Json(Order::from(&order))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_as_mongoose_says() {
        assert!(looks_like_object_id("5f1c9a7e2d4b3a0012345678"));
        assert!(looks_like_object_id("5F1C9A7E2D4B3A0012345678"));
        assert!(looks_like_object_id("twelve chars"));
        assert!(looks_like_object_id("ñññññññññññ1"));
        for bad in ["", "abc", "5f1c9a7e2d4b3a001234567z", "thirteen char"] {
            assert!(!looks_like_object_id(bad), "{bad}");
        }
    }

    #[test]
    fn twelve_characters_are_read_as_twelve_bytes() {
        let id = ticket_object_id("twelve chars").unwrap();
        assert_eq!(&id.bytes(), b"twelve chars");
        assert!(ticket_object_id("ñññññññññññ1").is_err());
        assert_eq!(
            ticket_object_id("5f1c9a7e2d4b3a0012345678")
                .unwrap()
                .to_hex(),
            "5f1c9a7e2d4b3a0012345678"
        );
    }
}
