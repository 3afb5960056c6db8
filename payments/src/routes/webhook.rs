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
use serde::{Deserialize, Serialize};
use stripe_webhook::{Event, EventObject, Webhook, WebhookError};

use crate::checkout::{PaidIntent, SettleError, WebhookEvent};
use crate::state::AppState;
use crate::stripe::Intent;

/// The 200 body, as Stripe's examples answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Always true.
    pub received: bool,
}

/// 200 `{"received": true}` once the event is handled: `payment_intent.succeeded` of an intent
/// this service made claims its order (or refunds it when the order was cancelled, paid,
/// expired, or the amount differs); every other event changes nothing. The same event again is
/// 200 with no second effect. 400 for a missing, malformed or wrong signature, a timestamp over
/// five minutes away, or a signed body that is not a Stripe event; 503 when it could not be
/// settled now (the order is not known, a refund or a lookup failed): Stripe delivers it again
/// later; 404 when `STRIPE_WEBHOOK_SECRET` is unset.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "payments",
    request_body(content = String, description = "A Stripe event, as Stripe signed it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256>`")),
    responses(
        (status = 200, description = "Handled, now or before", body = Received),
        (status = 400, description = "Not signed by Stripe with this endpoint's secret, too old, or unreadable", body = ErrorEnvelope),
        (status = 404, description = "The service takes no webhooks", body = ErrorEnvelope),
        (status = 503, description = "Not settled now; Stripe delivers again", body = ErrorEnvelope),
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
    let event = match Webhook::construct_event(payload, signature, secret.expose()) {
        Ok(event) => verified(&event),
        // The signature and its time were checked before the body was read: a genuine event
        // this SDK cannot read in full (another API version's) is read for its ids only.
        Err(WebhookError::BadParse(_)) => read_ids(payload)?,
        Err(WebhookError::BadTimestamp(_)) => return Err(refused("Signature timestamp too old")),
        Err(WebhookError::BadKey | WebhookError::BadHeader(_) | WebhookError::BadSignature) => {
            return Err(refused("Invalid signature"));
        }
    };
    match state.checkout.take_event(&event).await {
        Ok(()) => Ok(Json(Received { received: true })),
        Err(SettleError::Database(error)) => Err(error.into()),
        // Stripe delivers it again later.
        Err(error) => Err(ApiError::Unavailable(anyhow::anyhow!(
            "event {} not settled: {error}",
            event.id
        ))),
    }
}

/// The event as this service takes it.
fn verified(event: &Event) -> WebhookEvent {
    let (paid, failed) = match &event.data.object {
        EventObject::PaymentIntentSucceeded(intent) => (
            Some(PaidIntent::Carried(Intent::from(intent.as_ref()))),
            None,
        ),
        EventObject::PaymentIntentPaymentFailed(intent) => {
            (None, Some(intent.id.as_str().to_owned()))
        }
        _ => (None, None),
    };
    WebhookEvent {
        id: event.id.as_str().to_owned(),
        kind: event.type_.as_str().to_owned(),
        paid,
        failed,
    }
}

/// The ids of a signed event the SDK could not read: its own, its type's, and its object's.
fn read_ids(payload: &str) -> Result<WebhookEvent, ApiError> {
    #[derive(Deserialize)]
    struct Ids {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        object: Object,
    }
    #[derive(Deserialize)]
    struct Object {
        id: String,
    }
    let ids: Ids = serde_json::from_str(payload).map_err(|_| refused("Not a Stripe event"))?;
    tracing::warn!(event = %ids.id, kind = %ids.kind, "a signed event this SDK cannot read: its intent is looked up");
    let intent = ids.data.object.id;
    let paid = (ids.kind == SUCCEEDED).then(|| PaidIntent::LookUp(intent.clone()));
    let failed = (ids.kind == PAYMENT_FAILED).then_some(intent);
    Ok(WebhookEvent {
        id: ids.id,
        kind: ids.kind,
        paid,
        failed,
    })
}

/// Stripe's event for a paid intent.
const SUCCEEDED: &str = "payment_intent.succeeded";

/// Stripe's event for an attempt to pay an intent that failed.
const PAYMENT_FAILED: &str = "payment_intent.payment_failed";

/// A 400 for a webhook not taken; only the reason is logged.
fn refused(reason: &'static str) -> ApiError {
    tracing::warn!(reason, "webhook refused");
    ApiError::bad_request(reason)
}
