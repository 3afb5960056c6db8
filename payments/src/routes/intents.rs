//! `POST /api/payments/intents`: the PaymentIntent the user pays an order with in the browser.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::error::ErrorEnvelope;
use common::mongo::parse_object_id;
use common::validation::{Checks, INVALID_VALUE, Valid, Validate, is_present, lenient_string};
use common::{ApiError, CurrentUser, Json};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// The body: `{orderId}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateIntentBody {
    /// The id of the order to pay: 24 hex digits.
    #[serde(default, rename = "orderId", deserialize_with = "lenient_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    order_id: String,
}

impl Validate for CreateIntentBody {
    fn validate(&self, checks: &mut Checks) {
        checks.check("orderId", is_present(&self.order_id), INVALID_VALUE);
    }
}

/// The 201 body: what Stripe.js needs to confirm the intent.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct IntentCreated {
    /// Stripe's id, `pi_...`.
    pub id: String,
    /// The secret Stripe.js confirms it with; for the order's owner only.
    pub client_secret: String,
}

/// 201 `{id, clientSecret}`: the order's one PaymentIntent (amount in cents, USD, any payment
/// method the Stripe account takes), made at Stripe the first time and the same one after.
/// The user confirms it in the browser with Stripe.js; Stripe's signed webhook
/// (`POST /api/payments/webhook`) then completes the order. Refused as `POST /api/payments`
/// refuses (401 without a session, 400 for a missing or malformed id, 404 unknown, 401 someone
/// else's, 400 cancelled, paid or expired), and with the same rate limits (429), counted only
/// when an intent is to be made: asking again for a made one (a reload) counts nothing. 404
/// when the service takes no webhooks (`STRIPE_WEBHOOK_SECRET` unset), as it could not learn of
/// the payment. Not to be cached: it carries the client secret.
#[utoipa::path(post, path = "/api/payments/intents", tag = "payments",
    request_body = CreateIntentBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "The order's intent", body = IntentCreated,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "A missing or malformed id; the order is cancelled, paid or expired", body = ErrorEnvelope),
        (status = 401, description = "No valid session, or the order is someone else's", body = ErrorEnvelope),
        (status = 404, description = "No such order, or intents are off", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts: by this user, or on this order",
            body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn create_intent(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    Valid(body): Valid<CreateIntentBody>,
) -> Result<impl IntoResponse, ApiError> {
    if state.webhook_secret.is_none() {
        return Err(ApiError::NotFound);
    }
    let order_id = parse_object_id(&body.order_id)?;
    let intent = match state.checkout.existing_intent(&user.id, order_id).await? {
        Some(intent) => intent,
        None => {
            state.limits.check_attempt(&user.id, order_id)?;
            state.checkout.intent(&user.id, order_id).await?
        }
    };
    let created = IntentCreated {
        id: intent.id,
        client_secret: intent.client_secret.expose().to_owned(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(created),
    ))
}
