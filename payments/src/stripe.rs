//! Stripe, as this service uses it: a legacy Charge (`POST /v1/charges`, `currency=usd`,
//! `source=<token>`, as the original) and a full Refund, each call carrying an
//! `Idempotency-Key` so that repeating it never moves money twice.
//!
//! Errors are sorted by what they tell about the money: a card error and an invalid request
//! mean nothing was charged; anything else (Stripe down, a timeout, an unreadable answer) means
//! the outcome is unknown, and the caller must replay the call with the same key to learn it.

use ::stripe::{
    ApiErrorsCode, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeError, StripeRequest,
};
use anyhow::Context;
use stripe_core::charge::CreateCharge;
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;

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
        let result = CreateCharge::new()
            .amount(amount_cents)
            .currency(Currency::USD)
            .source(token)
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await;
        match result {
            Ok(charge) => Ok(charge.id.as_str().to_owned()),
            Err(StripeError::Stripe(error, status)) => {
                let code = error
                    .code
                    .as_ref()
                    .map_or("no code", |code| code.as_str())
                    .to_owned();
                Err(match (&error.type_, status) {
                    (ApiErrorsType::CardError, _) => ChargeError::Card {
                        message: error
                            .message
                            .clone()
                            .filter(|message| !message.is_empty())
                            .unwrap_or_else(|| "Your card was declined.".to_owned()),
                    },
                    (ApiErrorsType::InvalidRequestError, 400 | 404) => {
                        ChargeError::Refused { code }
                    }
                    _ => ChargeError::Unknown(format!(
                        "Stripe answered {status} {} ({code})",
                        error.type_.as_str()
                    )),
                })
            }
            Err(other) => Err(ChargeError::Unknown(other.to_string())),
        }
    }

    /// Refunds the charge in full.
    pub async fn refund(&self, charge_id: &str, idempotency_key: &str) -> anyhow::Result<Refunded> {
        let strategy = idempotent(idempotency_key).map_err(anyhow::Error::msg)?;
        let result = CreateRefund::new()
            .charge(charge_id)
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await;
        match result {
            Ok(refund) => Ok(Refunded::Now(refund.id.as_str().to_owned())),
            Err(StripeError::Stripe(error, _))
                if error.code == Some(ApiErrorsCode::ChargeAlreadyRefunded) =>
            {
                Ok(Refunded::Already)
            }
            Err(error) => Err(anyhow::anyhow!("refunding charge {charge_id}: {error}")),
        }
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, String> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|error| format!("idempotency key: {error}"))
}
