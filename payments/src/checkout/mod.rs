//! Paying for an order, and giving the money back when the order did not stand.
//!
//! The rule is "no money without a ticket": a charge is either the order's one payment, or it
//! is refunded, exactly once. The steps:
//!
//! 1. the order is checked (owner, not cancelled, not paid, not expired), then the attempt is
//!    recorded under its idempotency key, *before* Stripe is called;
//! 2. Stripe charges the card with that key;
//! 3. the charge is claimed for the order in one transaction ([`Payments::record`]); if the
//!    order was cancelled, expired or paid meanwhile, the charge is refunded (key
//!    `refund-<charge>`), and the attempt says so.
//!
//! A crash or a lost answer anywhere leaves the attempt pending; the reconciler replays it
//! ([`Checkout::reconcile`]): Stripe answers the same key with the same charge, and step 3
//! runs again. A cancellation arriving after the claim refunds the payment
//! ([`Checkout::refund_if_cancelled`]). Refunds of one charge share one key, so whoever asks,
//! and however often, Stripe refunds it once.
//!
//! An order paid in the browser goes the same way with a PaymentIntent in place of the charge:
//!
//! 1. the order is checked as above, the intent recorded, then made at Stripe under a key of
//!    the order, so asking again makes no second one ([`Checkout::intent`]);
//! 2. the customer confirms it with Stripe.js (3-D Secure included), out of our sight;
//! 3. Stripe's signed webhook says it succeeded, and it is claimed for the order as a charge
//!    is, or refunded ([`Checkout::settle_intent`]).
//!
//! A webhook that never comes is made up for by the reconciler, which looks open intents up at
//! Stripe, settles a paid one, and cancels an unpaid one whose order went away
//! ([`Checkout::reconcile_intent`]).

use chrono::Utc;
use common::events::OrderStatus;
use mongodb::bson::oid::ObjectId;

use crate::config::Failpoints;
use crate::models::{
    AttemptState, ChargeAttempt, Claim, IntentState, OrderDocument, Orders, PaymentDocument,
    Payments, Settles, charge_key, refund_key,
};
use crate::stripe::{ChargeError, Refunded, Stripe};

mod intents;

pub use intents::{IntentOutcome, PaidIntent, SettleError, WebhookEvent};

/// Why an order could not be paid.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// No such order (yet) in the replica.
    #[error("order not found")]
    NotFound,
    /// Someone else's order.
    #[error("not the user's order")]
    NotAuthorized,
    /// The order was cancelled (any charge made was refunded).
    #[error("the order is cancelled")]
    Cancelled,
    /// The order is paid (any extra charge made was refunded).
    #[error("the order is already paid")]
    AlreadyPaid,
    /// The order expired (any charge made was refunded).
    #[error("the order has expired")]
    Expired,
    /// The card was declined; Stripe's message is for the customer. Nothing was charged.
    #[error("card declined: {0}")]
    Declined(String),
    /// Stripe refused the charge (an unknown token, an impossible amount). Nothing was charged.
    #[error("Stripe refused the charge")]
    Refused,
    /// Stripe's answer is unknown; the reconciler will settle the attempt.
    #[error(transparent)]
    Stripe(anyhow::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

/// What became of a payment the order was asked to take.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// What the claim found.
    pub claim: Claim,
    /// The order could not keep the payment and its refund failed: the reconciler retries it.
    pub refund_pending: bool,
}

/// Charges, records and refunds. Cheap to clone.
#[derive(Clone)]
pub struct Checkout {
    orders: Orders,
    payments: Payments,
    stripe: Stripe,
    failpoints: Failpoints,
}

impl Checkout {
    /// Pays through `stripe`, recording in `payments` against the `orders` replica.
    pub fn new(orders: Orders, payments: Payments, stripe: Stripe, failpoints: Failpoints) -> Self {
        Checkout {
            orders,
            payments,
            stripe,
            failpoints,
        }
    }

    /// The payment records.
    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// The order `user_id` may pay now, and its amount in cents: refused if it is someone
    /// else's, cancelled, paid or expired (in that order, as the original).
    pub(crate) async fn payable(&self, user_id: &str, order_id: ObjectId) -> Result<i64, PayError> {
        let order = self
            .orders
            .find(order_id)
            .await?
            .ok_or(PayError::NotFound)?;
        if order.user_id != user_id {
            return Err(PayError::NotAuthorized);
        }
        if order.status == OrderStatus::Cancelled {
            return Err(PayError::Cancelled);
        }
        if order.payment.is_some() {
            return Err(PayError::AlreadyPaid);
        }
        if order.is_expired(Utc::now()) {
            return Err(PayError::Expired);
        }
        order.amount_cents().ok_or_else(|| {
            tracing::warn!(order = %order_id, "the order's price cannot be charged");
            PayError::Refused
        })
    }

    /// `user_id` pays for the order with the card `token` (as the original, with docs/decisions.md #10, #11).
    pub async fn pay(
        &self,
        user_id: &str,
        order_id: ObjectId,
        token: &str,
    ) -> Result<PaymentDocument, PayError> {
        let amount = self.payable(user_id, order_id).await?;
        let key = charge_key(order_id, token);
        if !self
            .payments
            .begin_attempt(&key, order_id, amount, token)
            .await?
        {
            // This very card already paid (or was refunded for) this order.
            return Err(PayError::AlreadyPaid);
        }
        let charge_id = match self.stripe.charge(amount, token, &key).await {
            Ok(charge_id) => charge_id,
            Err(error) => return Err(self.failed_charge(&key, error).await),
        };
        if self.failpoints.crash_after_charge {
            return Err(PayError::Stripe(anyhow::anyhow!(
                "failpoint: crashed after charging {charge_id}"
            )));
        }
        match self
            .settle_payment(Settles::Attempt(&key), order_id, &charge_id)
            .await?
            .claim
        {
            Claim::Recorded(payment) => {
                tracing::info!(order = %order_id, payment = %payment.id, charge = %charge_id, "order paid");
                Ok(payment)
            }
            Claim::AlreadyRecorded(_) | Claim::PaidByOther => Err(PayError::AlreadyPaid),
            Claim::Cancelled => Err(PayError::Cancelled),
            Claim::Expired => Err(PayError::Expired),
            Claim::NotFound => Err(PayError::NotFound),
        }
    }

    /// Settles the attempt `key` after a failed charge; what the request answers.
    async fn failed_charge(&self, key: &str, error: ChargeError) -> PayError {
        let (state, answer) = match error {
            ChargeError::Card { message } => (AttemptState::Declined, PayError::Declined(message)),
            ChargeError::Refused { code } => {
                tracing::warn!(code, "Stripe refused a charge");
                (AttemptState::Refused, PayError::Refused)
            }
            // Left pending: the reconciler replays it and learns the outcome.
            ChargeError::Unknown(detail) => {
                return PayError::Stripe(anyhow::anyhow!("charging the card: {detail}"));
            }
        };
        match self.payments.settle_attempt(key, state, None, None).await {
            Ok(settled) => {
                if settled && state == AttemptState::Declined {
                    crate::metrics::payment_declined();
                }
                answer
            }
            Err(error) => PayError::Database(error),
        }
    }

    /// Claims the order for `payment_id` (a charge or a paid intent; what it `settles`) and
    /// refunds it if it cannot be kept.
    pub(crate) async fn settle_payment(
        &self,
        settles: Settles<'_>,
        order_id: ObjectId,
        payment_id: &str,
    ) -> mongodb::error::Result<Settled> {
        let claim = self.payments.record(settles, order_id, payment_id).await?;
        if let Claim::Recorded(_) = claim {
            crate::metrics::payment_succeeded();
        }
        if claim.keeps_the_charge() {
            return Ok(Settled {
                claim,
                refund_pending: false,
            });
        }
        tracing::info!(order = %order_id, payment = %payment_id, ?claim, "the order cannot take the payment: refunding it");
        let refunded = self.refund_unkept(settles, order_id, payment_id).await?;
        Ok(Settled {
            claim,
            refund_pending: !refunded,
        })
    }

    /// Refunds `payment_id`, which the order cannot keep, and settles what it `settles` as
    /// refunded; whether it was. A refund that fails leaves it open, for the reconciler.
    pub(crate) async fn refund_unkept(
        &self,
        settles: Settles<'_>,
        order_id: ObjectId,
        payment_id: &str,
    ) -> mongodb::error::Result<bool> {
        let refunded = match self
            .stripe
            .refund(payment_id, &refund_key(payment_id))
            .await
        {
            Ok(refunded) => refunded,
            Err(error) => {
                tracing::warn!(order = %order_id, payment = %payment_id, error = %format!("{error:#}"), "refund failed; the reconciler will retry it");
                return Ok(false);
            }
        };
        tracing::info!(order = %order_id, payment = %payment_id, "payment refunded: the order could not take it");
        let settled_now = match settles {
            Settles::Attempt(key) => {
                self.payments
                    .settle_attempt(
                        key,
                        AttemptState::Refunded,
                        Some(payment_id),
                        refund_id(&refunded),
                    )
                    .await?
            }
            Settles::Intent(intent) => {
                self.payments
                    .settle_intent(order_id, Some(intent), IntentState::Refunded)
                    .await?
            }
        };
        // Not settled now: a replay, and whoever settled it counted the refund.
        if settled_now {
            crate::metrics::payment_refunded();
        }
        Ok(true)
    }

    /// Settles an attempt left pending: replays the charge with its key (Stripe answers as the
    /// first time, or charges now if it never got the first call), then records or refunds it.
    /// An outcome still unknown leaves it pending for the next round.
    pub async fn reconcile(&self, attempt: &ChargeAttempt) -> anyhow::Result<()> {
        let Some(token) = attempt.token.as_deref() else {
            tracing::error!(attempt = %attempt.key, "a pending attempt has no token; it cannot be replayed");
            self.payments
                .settle_attempt(&attempt.key, AttemptState::Refused, None, None)
                .await?;
            return Ok(());
        };
        match self
            .stripe
            .charge(attempt.amount, token, &attempt.key)
            .await
        {
            Ok(charge_id) => {
                let claim = self
                    .settle_payment(Settles::Attempt(&attempt.key), attempt.order_id, &charge_id)
                    .await?
                    .claim;
                tracing::info!(attempt = %attempt.key, charge = %charge_id, ?claim, "reconciled a charge attempt");
            }
            Err(ChargeError::Card { .. }) => {
                if self
                    .payments
                    .settle_attempt(&attempt.key, AttemptState::Declined, None, None)
                    .await?
                {
                    crate::metrics::payment_declined();
                }
            }
            Err(ChargeError::Refused { code }) => {
                tracing::warn!(attempt = %attempt.key, code, "Stripe refused a replayed charge");
                self.payments
                    .settle_attempt(&attempt.key, AttemptState::Refused, None, None)
                    .await?;
            }
            Err(ChargeError::Unknown(detail)) => {
                anyhow::bail!("replaying charge attempt {}: {detail}", attempt.key);
            }
        }
        Ok(())
    }

    /// If `order` is cancelled and a payment was kept for it, refunds that payment (see
    /// docs/decisions.md #11: money is never kept without a ticket). Idempotent.
    pub async fn refund_if_cancelled(&self, order: &OrderDocument) -> anyhow::Result<()> {
        if order.status != OrderStatus::Cancelled {
            return Ok(());
        }
        let Some(payment) = order.unrefunded_payment() else {
            return Ok(());
        };
        let charge_id = payment.charge_id.as_str();
        let refunded = self
            .stripe
            .refund(charge_id, &refund_key(charge_id))
            .await?;
        if self
            .payments
            .mark_refunded(order.id, charge_id, refund_id(&refunded))
            .await?
        {
            crate::metrics::payment_refunded();
            tracing::info!(order = %order.id, charge = %charge_id, "payment refunded: the order was cancelled");
        }
        Ok(())
    }
}

fn refund_id(refunded: &Refunded) -> Option<&str> {
    match refunded {
        Refunded::Now(id) => Some(id.as_str()),
        Refunded::Already => None,
    }
}
