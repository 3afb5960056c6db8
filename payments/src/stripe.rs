//! Stripe, as this service uses it: a legacy Charge (`POST /v1/charges`, `currency=usd`,
//! `source=<token>`, as the original), a PaymentIntent the customer confirms in the browser
//! (made, looked up, cancelled), and a full Refund of either; each call that makes something
//! carries an `Idempotency-Key`, so that repeating it never moves money twice.
//!
//! Errors are sorted by what they tell about the money: a card error and an invalid request
//! mean nothing was charged; anything else (Stripe down, a timeout, an unreadable answer) means
//! the outcome is unknown, and the caller must replay the call with the same key to learn it.
//!
//! Every call goes through [`call`], which runs it in a `stripe` span (a trace span when
//! OpenTelemetry is on) with its `operation`, times it in
//! `stripe_request_duration_seconds{operation}` and counts its failures in
//! `stripe_errors_total{operation}`. The operations: `charge_create`, `payment_intent_create`,
//! `payment_intent_retrieve`, `payment_intent_cancel`, `refund_create`. A card declined is not
//! a failure of Stripe's: it is counted as a payment declined ([`crate::metrics`]).

use std::collections::HashMap;
use std::time::Instant;

use ::stripe::{
    ApiErrorsCode, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeError, StripeRequest,
};
use anyhow::Context;
use common::config::Secret;
use mongodb::bson::oid::ObjectId;
use stripe_core::charge::CreateCharge;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Currency;
use tracing::Instrument;

use crate::config::StripeSettings;

/// Stripe's base URL when `STRIPE_API_BASE` is not set.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// What a failed charge tells.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// The card was declined: nothing was charged, and the message is meant for the customer.
    #[error("the card was declined: {message}")]
    Card {
        /// Stripe's message, e.g. "Your card was declined.".
        message: String,
    },
    /// Stripe refused the request (an unknown token, say): nothing was charged.
    #[error("Stripe refused the charge ({code})")]
    Refused {
        /// Stripe's error code, for the logs (its message may quote the card token, so it is
        /// not kept).
        code: String,
    },
    /// No usable answer: the card may or may not have been charged.
    #[error("the charge's outcome is unknown: {0}")]
    Unknown(String),
}

/// What a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refunded {
    /// Refunded by this call (or by an earlier one with the same key): the refund's id.
    Now(String),
    /// Stripe says the charge was already refunded in full.
    Already,
}

/// The metadata key naming the order an intent pays for.
pub const ORDER_METADATA: &str = "orderId";

/// A PaymentIntent as this service reads it, from a webhook event or a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// `pi_...`.
    pub id: String,
    /// Whether it was paid.
    pub status: IntentStatus,
    /// What was received, in the currency's smallest unit.
    pub amount_received: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// The order it pays for, from its metadata (`None` for an intent this service did not
    /// make).
    pub order_id: Option<ObjectId>,
}

/// Where an intent is, as far as the money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    /// Paid.
    Succeeded,
    /// Being paid (a bank's answer is awaited): neither paid nor payable.
    Processing,
    /// Cancelled: it can never be paid.
    Canceled,
    /// Waiting for the customer (a payment method, a confirmation, a 3-D Secure step).
    Payable,
}

impl From<&PaymentIntent> for Intent {
    fn from(intent: &PaymentIntent) -> Self {
        let status = match intent.status {
            PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
            PaymentIntentStatus::Processing => IntentStatus::Processing,
            PaymentIntentStatus::Canceled => IntentStatus::Canceled,
            _ => IntentStatus::Payable,
        };
        Intent {
            id: intent.id.as_str().to_owned(),
            status,
            amount_received: intent.amount_received,
            currency: intent.currency.to_string(),
            order_id: intent
                .metadata
                .get(ORDER_METADATA)
                .and_then(|id| ObjectId::parse_str(id).ok()),
        }
    }
}

/// An intent made: what the customer's browser needs to pay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeIntent {
    /// `pi_...`.
    pub id: String,
    /// The secret Stripe.js confirms it with (never logged).
    pub client_secret: Secret,
}

/// A Stripe client. Cheap to clone.
#[derive(Clone)]
pub struct Stripe {
    client: ::stripe::Client,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").finish_non_exhaustive()
    }
}

impl Stripe {
    /// A client with the secret key, at `STRIPE_API_BASE` (or Stripe's own).
    pub fn new(settings: &StripeSettings) -> anyhow::Result<Stripe> {
        let base = settings.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        // The client appends `v1/...` to the base as written, so it must end with a slash.
        let base = if base.ends_with('/') {
            base.to_owned()
        } else {
            format!("{base}/")
        };
        let client = ::stripe::ClientBuilder::new(settings.key.expose())
            .url(base)
            .timeout(settings.timeout)
            .build()
            .context("STRIPE_KEY or STRIPE_API_BASE is not usable")?;
        Ok(Stripe { client })
    }

    /// Charges `amount_cents` (USD) to the card `token`; the charge's id.
    pub async fn charge(
        &self,
        amount_cents: i64,
        token: &str,
        idempotency_key: &str,
    ) -> Result<String, ChargeError> {
        let strategy = idempotent(idempotency_key).map_err(ChargeError::Unknown)?;
        let request = CreateCharge::new()
            .amount(amount_cents)
            .currency(Currency::USD)
            .source(token)
            .customize()
            .request_strategy(strategy)
            .send(&self.client);
        call("charge_create", request)
            .await
            .map(|charge| charge.id.as_str().to_owned())
            .map_err(sorted)
    }

    /// Makes the intent of `amount_cents` (USD) for the order, paid by any method the account
    /// takes; the same `idempotency_key` makes it once however often it is asked.
    pub async fn make_intent(
        &self,
        amount_cents: i64,
        order_id: ObjectId,
        idempotency_key: &str,
    ) -> Result<MadeIntent, ChargeError> {
        let strategy = idempotent(idempotency_key).map_err(ChargeError::Unknown)?;
        let metadata = HashMap::from([(ORDER_METADATA.to_owned(), order_id.to_hex())]);
        let request = CreatePaymentIntent::new(amount_cents, Currency::USD)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
            .metadata(metadata)
            .customize()
            .request_strategy(strategy)
            .send(&self.client);
        let intent = call("payment_intent_create", request)
            .await
            .map_err(sorted)?;
        let client_secret = intent
            .client_secret
            .ok_or_else(|| ChargeError::Unknown("the intent came without its secret".to_owned()))?;
        Ok(MadeIntent {
            id: intent.id.as_str().to_owned(),
            client_secret: Secret::new(client_secret),
        })
    }

    /// Looks the intent up.
    pub async fn intent(&self, intent_id: &str) -> anyhow::Result<Intent> {
        let retrieve = RetrievePaymentIntent::new(intent_id);
        let intent = call("payment_intent_retrieve", retrieve.send(&self.client))
            .await
            .with_context(|| format!("looking up intent {intent_id}"))?;
        Ok(Intent::from(&intent))
    }

    /// Cancels the intent so that it can never be paid, and says where it is now: cancelled,
    /// or, if it was paid (or is being paid) meanwhile, that.
    pub async fn cancel_intent(&self, intent_id: &str) -> anyhow::Result<Intent> {
        let cancel = CancelPaymentIntent::new(intent_id);
        match call("payment_intent_cancel", cancel.send(&self.client)).await {
            Ok(intent) => Ok(Intent::from(&intent)),
            Err(StripeError::Stripe(error, _))
                if error.code == Some(ApiErrorsCode::PaymentIntentUnexpectedState) =>
            {
                self.intent(intent_id).await
            }
            Err(error) => Err(anyhow::anyhow!("cancelling intent {intent_id}: {error}")),
        }
    }

    /// Refunds a payment in full: a charge (`ch_...`) or a paid intent (`pi_...`).
    pub async fn refund(
        &self,
        payment_id: &str,
        idempotency_key: &str,
    ) -> anyhow::Result<Refunded> {
        let strategy = idempotent(idempotency_key).map_err(anyhow::Error::msg)?;
        let refund = if payment_id.starts_with("pi_") {
            CreateRefund::new().payment_intent(payment_id)
        } else {
            CreateRefund::new().charge(payment_id)
        };
        let request = refund
            .customize()
            .request_strategy(strategy)
            .send(&self.client);
        match call("refund_create", request).await {
            Ok(refund) => Ok(Refunded::Now(refund.id.as_str().to_owned())),
            Err(StripeError::Stripe(error, _))
                if error.code == Some(ApiErrorsCode::ChargeAlreadyRefunded) =>
            {
                Ok(Refunded::Already)
            }
            Err(error) => Err(anyhow::anyhow!("refunding {payment_id}: {error}")),
        }
    }
}

/// Runs one call to Stripe, which `operation` names, observed as the module docs say.
async fn call<T>(
    operation: &'static str,
    request: impl Future<Output = Result<T, StripeError>>,
) -> Result<T, StripeError> {
    let started = Instant::now();
    let result = request
        .instrument(tracing::info_span!("stripe", operation))
        .await;
    metrics::histogram!("stripe_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if let Err(error) = &result
        && !is_card_error(error)
    {
        metrics::counter!("stripe_errors_total", "operation" => operation).increment(1);
    }
    result
}

/// Whether Stripe declined the card (and so worked as it should).
fn is_card_error(error: &StripeError) -> bool {
    matches!(error, StripeError::Stripe(error, _) if matches!(error.type_, ApiErrorsType::CardError))
}

/// What a failed request that would have moved money tells (see [`ChargeError`]).
fn sorted(error: StripeError) -> ChargeError {
    let StripeError::Stripe(error, status) = error else {
        return ChargeError::Unknown(error.to_string());
    };
    let code = error
        .code
        .as_ref()
        .map_or("no code", |code| code.as_str())
        .to_owned();
    match (&error.type_, status) {
        (ApiErrorsType::CardError, _) => ChargeError::Card {
            message: error
                .message
                .clone()
                .filter(|message| !message.is_empty())
                .unwrap_or_else(|| "Your card was declined.".to_owned()),
        },
        (ApiErrorsType::InvalidRequestError, 400 | 404) => ChargeError::Refused { code },
        _ => ChargeError::Unknown(format!(
            "Stripe answered {status} {} ({code})",
            error.type_.as_str()
        )),
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, String> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|error| format!("idempotency key: {error}"))
}
