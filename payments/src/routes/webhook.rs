//! `POST /api/payments/webhook`: Stripe tells what became of the intents.
//!
//! Nothing is read before the `Stripe-Signature` header is verified (HMAC-SHA256 of
//! `<t>.<body>` with `STRIPE_WEBHOOK_SECRET`, any of several `v1` values, the timestamp within
//! five minutes, compared in constant time; `async-stripe-webhook` does it). A refusal logs
//! its reason only, never the body. Handling is idempotent twice over: an event id handled
//! before is answered at once, and a paid intent is claimed at most once whatever delivers it
//! (see [`crate::checkout`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use common::error::ErrorEnvelope;
use common::{ApiError, Json};
use serde::Serialize;
use stripe_webhook::{EventObject, Webhook, WebhookError};

use crate::checkout::SettleError;
use crate::state::AppState;
use crate::stripe::Intent;

/// The 200 body, as Stripe's examples answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Always true.
    pub received: bool,
}

/// 200 `{"received": true}` once the event is handled: `payment_intent.succeeded` claims the
/// order for the intent (or refunds it when the order was cancelled, paid, expired, or the
/// amount differs); every other event changes nothing. The same event again is 200 with no
/// second effect. 400 for a missing, malformed or wrong signature, a timestamp over five
/// minutes away, or a signed body that is not a Stripe event; 503 while the order is not
/// known yet (Stripe delivers again later); 404 when `STRIPE_WEBHOOK_SECRET` is unset.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "payments",
    request_body(content = String, description = "A Stripe event, as Stripe signed it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256>`")),
    responses(
        (status = 200, description = "Handled, now or before", body = Received),
        (status = 400, description = "Not signed by Stripe with this endpoint's secret, too old, or unreadable", body = ErrorEnvelope),
        (status = 404, description = "The service takes no webhooks", body = ErrorEnvelope),
        (status = 503, description = "The order is not known yet; Stripe delivers again", body = ErrorEnvelope),
    ))]
pub async fn receive_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let Some(secret) = &state.webhook_secret else {
        return Err(ApiError::NotFound);
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refused("Missing Stripe-Signature header"))?;
    let payload = std::str::from_utf8(&body).map_err(|_| refused("Invalid signature"))?;
    let event = Webhook::construct_event(payload, signature, secret.expose()).map_err(|error| {
        refused(match error {
            WebhookError::BadTimestamp(_) => "Signature timestamp too old",
            WebhookError::BadParse(_) => "Not a Stripe event",
            WebhookError::BadKey | WebhookError::BadHeader(_) | WebhookError::BadSignature => {
                "Invalid signature"
            }
        })
    })?;
    let payments = state.checkout.payments();
    let event_id = event.id.as_str();
    if payments.event_handled(event_id).await? {
        return Ok(Json(Received { received: true }));
    }
    if let EventObject::PaymentIntentSucceeded(intent) = &event.data.object {
        let intent = Intent::from(intent.as_ref());
        match state.checkout.settle_intent(&intent).await {
            Ok(outcome) => {
                tracing::info!(event = event_id, intent = %intent.id, ?outcome, "webhook handled");
            }
            Err(SettleError::OrderNotYet) => {
                return Err(ApiError::Unavailable(anyhow::anyhow!(
                    "intent {} paid for an order not replicated yet",
                    intent.id
                )));
            }
            Err(SettleError::Database(error)) => return Err(error.into()),
        }
    }
    payments.event_done(event_id, event.type_.as_str()).await?;
    Ok(Json(Received { received: true }))
}

/// A 400 for a webhook not taken; only the reason is logged.
fn refused(reason: &'static str) -> ApiError {
    tracing::warn!(reason, "webhook refused");
    ApiError::bad_request(reason)
}
