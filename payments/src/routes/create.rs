//! `POST /api/payments`: the user pays for an order with a card token.

use axum::extract::State;
use axum::http::StatusCode;
use common::error::ErrorEnvelope;
use common::mongo::parse_object_id;
use common::validation::{Checks, INVALID_VALUE, Valid, Validate, is_present, lenient_string};
use common::{ApiError, CurrentUser, Json};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// The payment body: `{token, orderId}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreatePaymentBody {
    /// A card token from Stripe.js (`tok_...`).
    #[serde(default, deserialize_with = "lenient_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    token: String,
    /// The id of the order to pay: 24 hex digits.
    #[serde(default, rename = "orderId", deserialize_with = "lenient_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    order_id: String,
}

impl Validate for CreatePaymentBody {
    /// `body('token').not().isEmpty()`, `body('orderId').not().isEmpty()`, no messages.
    fn validate(&self, checks: &mut Checks) {
        checks
            .check("token", is_present(&self.token), INVALID_VALUE)
            .check("orderId", is_present(&self.order_id), INVALID_VALUE);
    }
}

/// The 201 body: the payment's id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentCreated {
    /// 24 hex digits.
    pub id: String,
}

/// 201 `{id}`: the card was charged (amount in cents, rounded) and the payment recorded.
/// In order: 401 without a session, 400 per missing field, 400 `"Something went wrong"` for a
/// malformed id, 404 for an unknown order, 401 for someone else's, 400 `"Cannot pay for an
/// cancelled order"`, 400 `"Order has already been paid"`, 400 `"Order has expired"`; a
/// declined card is 400 with Stripe's message and the order stays payable. Once the id is
/// read, and before the order is looked up or Stripe called, 429 with `Retry-After` when the
/// user's attempts on this order or on all their orders are over their limits
/// ([`super::limits`]).
#[utoipa::path(post, path = "/api/payments", tag = "payments",
    request_body = CreatePaymentBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "The card was charged and the payment recorded", body = PaymentCreated),
        (status = 400, description = "A missing field or malformed id; the order is cancelled, paid or expired; or the card was declined (Stripe's message)", body = ErrorEnvelope),
        (status = 401, description = "No valid session, or the order is someone else's", body = ErrorEnvelope),
        (status = 404, description = "No such order", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts: by this user, or on this order",
            body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn create_payment(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    Valid(body): Valid<CreatePaymentBody>,
) -> Result<(StatusCode, Json<PaymentCreated>), ApiError> {
    let order_id = parse_object_id(&body.order_id)?;
    state.limits.check_attempt(&user.id, order_id)?;
    let payment = state.checkout.pay(&user.id, order_id, &body.token).await?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentCreated {
            id: payment.id.to_hex(),
        }),
    ))
}
