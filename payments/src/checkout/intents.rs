//! Paying in the browser: the order's PaymentIntent, and what Stripe says became of it (see the
//! [module above](super) for the steps). Every intent settled here is one this service made: it
//! is found by Stripe's id in `payment_intents`, and the order it pays for is the one recorded
//! there, never only what an event's metadata says.

use chrono::Utc;
use common::config::Secret;
use common::events::OrderStatus;
use mongodb::bson::oid::ObjectId;

use super::{Checkout, PayError};
use crate::models::{Claim, IntentDocument, IntentState, Settles, intent_key};
use crate::stripe::{ChargeError, Intent, IntentStatus, MadeIntent};

/// What a paid intent came to.
#[derive(Debug, Clone, PartialEq)]
pub enum IntentOutcome {
    /// Not paid, or not an intent this service made: nothing to do.
    Ignored,
    /// Claimed for the order (now or before), or refunded as the claim says.
    Claimed(Claim),
    /// Its amount or currency is not the order's: refunded.
    Mismatched,
}

/// Why a paid intent could not be settled yet; Stripe delivers its event again.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Its order is not in the replica (a replica restored from an older backup, say).
    #[error("the order is not known")]
    OrderNotYet,
    /// It must be refunded, and Stripe did not answer the refund.
    #[error("the refund failed")]
    RefundPending,
    /// Stripe did not answer a lookup.
    #[error(transparent)]
    Stripe(anyhow::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

/// A Stripe event whose signature was verified, as the webhook read it.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// `evt_...`.
    pub id: String,
    /// E.g. `payment_intent.succeeded`.
    pub kind: String,
    /// For `payment_intent.succeeded`: the intent it says was paid.
    pub paid: Option<PaidIntent>,
    /// For `payment_intent.payment_failed`: the id of the intent whose payment failed (the
    /// card declined, or its authentication failed); it stays payable.
    pub failed: Option<String>,
}

/// The intent a `payment_intent.succeeded` event is about.
#[derive(Debug, Clone)]
pub enum PaidIntent {
    /// As the event carries it.
    Carried(Intent),
    /// Only its id: the event's body could not be read in full (another API version's), so
    /// Stripe is asked.
    LookUp(String),
}

impl Checkout {
    /// The intent `user_id` pays the order with in the browser, if it was made already.
    pub async fn existing_intent(
        &self,
        user_id: &str,
        order_id: ObjectId,
    ) -> Result<Option<MadeIntent>, PayError> {
        self.payable(user_id, order_id).await?;
        let stored = self.payments.intent(order_id).await?;
        Ok(stored.and_then(handed_out))
    }

    /// The intent `user_id` pays the order with in the browser: made at Stripe the first time
    /// (recorded before, and its answer recorded after), the same one every time after.
    pub async fn intent(&self, user_id: &str, order_id: ObjectId) -> Result<MadeIntent, PayError> {
        let amount = self.payable(user_id, order_id).await?;
        let stored = self.payments.open_intent(order_id, amount).await?;
        if stored.state != IntentState::Open {
            // Settled while the order stayed payable (paid for another amount and refunded,
            // or refused by Stripe): not made again.
            return Err(PayError::Refused);
        }
        if let Some(made) = handed_out(stored.clone()) {
            return Ok(made);
        }
        let made = match self
            .stripe
            .make_intent(stored.amount, order_id, &intent_key(order_id))
            .await
        {
            Ok(made) => made,
            Err(ChargeError::Unknown(detail)) => {
                return Err(PayError::Stripe(anyhow::anyhow!(
                    "making the intent: {detail}"
                )));
            }
            // Refused (an amount Stripe does not take): it will never be made.
            Err(refused) => {
                tracing::warn!(order = %order_id, error = %refused, "Stripe refused an intent");
                self.payments
                    .settle_intent(order_id, None, IntentState::Cancelled)
                    .await?;
                return Err(PayError::Refused);
            }
        };
        self.payments
            .intent_made(order_id, &made.id, made.client_secret.expose())
            .await?;
        tracing::info!(order = %order_id, intent = %made.id, "intent made");
        Ok(made)
    }

    /// Takes a verified Stripe event, once: an event handled before is answered at once; a paid
    /// intent is settled ([`Checkout::settle_intent`]); a failed payment of an intent this
    /// service made is counted as declined; any other event changes nothing. An event not
    /// settled (an error) is not recorded as handled, so its redelivery is.
    pub async fn take_event(&self, event: &WebhookEvent) -> Result<(), SettleError> {
        if self.payments.event_handled(&event.id).await? {
            return Ok(());
        }
        if let Some(paid) = &event.paid {
            let intent = match paid {
                PaidIntent::Carried(intent) => intent.clone(),
                PaidIntent::LookUp(id) => {
                    self.stripe.intent(id).await.map_err(SettleError::Stripe)?
                }
            };
            let outcome = self.settle_intent(&intent).await?;
            tracing::info!(event = %event.id, intent = %intent.id, ?outcome, "webhook handled");
        }
        let declined = match &event.failed {
            Some(intent_id) => self
                .payments
                .intent_made_as(intent_id, None)
                .await?
                .is_some(),
            None => false,
        };
        // Counted by the delivery that records the event, so once however often it comes.
        if self.payments.event_done(&event.id, &event.kind).await? && declined {
            crate::metrics::payment_declined();
        }
        Ok(())
    }

    /// Settles an intent Stripe says about (a webhook, or a lookup): a paid one this service
    /// made is claimed for its order, or refunded when the order cannot take it or its amount
    /// is not the order's.
    pub async fn settle_intent(&self, intent: &Intent) -> Result<IntentOutcome, SettleError> {
        if intent.status != IntentStatus::Succeeded {
            return Ok(IntentOutcome::Ignored);
        }
        let Some(stored) = self
            .payments
            .intent_made_as(&intent.id, intent.order_id)
            .await?
        else {
            tracing::warn!(intent = %intent.id, "a paid intent this service did not make: left alone");
            return Ok(IntentOutcome::Ignored);
        };
        let order_id = stored.order_id;
        let order = self
            .orders
            .find(order_id)
            .await?
            .ok_or(SettleError::OrderNotYet)?;
        let as_asked = order.amount_cents() == Some(intent.amount_received)
            && intent.amount_received == stored.amount
            && intent.currency.eq_ignore_ascii_case("usd");
        let settles = Settles::Intent(&intent.id);
        if !as_asked {
            tracing::warn!(order = %order_id, intent = %intent.id, amount = intent.amount_received, currency = %intent.currency, "a paid intent is not the order's price");
            if !self.refund_unkept(settles, order_id, &intent.id).await? {
                return Err(SettleError::RefundPending);
            }
            return Ok(IntentOutcome::Mismatched);
        }
        let settled = self.settle_payment(settles, order_id, &intent.id).await?;
        if settled.refund_pending {
            return Err(SettleError::RefundPending);
        }
        if let Claim::Recorded(payment) = &settled.claim {
            tracing::info!(order = %order_id, payment = %payment.id, intent = %intent.id, "order paid");
        }
        Ok(IntentOutcome::Claimed(settled.claim))
    }

    /// Settles an intent left open (its webhook never came, or it was never paid): looks it up
    /// at Stripe, settles it if it was paid, and cancels it if its order can no longer be
    /// paid, so that it never will be. An intent still payable by a payable order stays open.
    pub async fn reconcile_intent(&self, stored: &IntentDocument) -> anyhow::Result<()> {
        let order_id = stored.order_id;
        let order = self.orders.find(order_id).await?;
        let order_payable = order.is_some_and(|order| {
            order.status != OrderStatus::Cancelled
                && order.payment.is_none()
                && !order.is_expired(Utc::now())
        });
        let intent_id = match &stored.intent_id {
            Some(intent_id) => intent_id.clone(),
            // Stripe's answer was never recorded, so nobody was given the secret to pay it:
            // while the order is payable, its owner asking again finds the same intent.
            None if order_payable => return Ok(()),
            // Whether Stripe made it or not, the same key names it: made (again) to cancel.
            None => match self
                .stripe
                .make_intent(stored.amount, order_id, &intent_key(order_id))
                .await
            {
                Ok(made) => made.id,
                Err(ChargeError::Unknown(detail)) => {
                    anyhow::bail!("replaying the intent of {order_id}: {detail}")
                }
                Err(_refused) => {
                    self.payments
                        .settle_intent(order_id, None, IntentState::Cancelled)
                        .await?;
                    return Ok(());
                }
            },
        };
        self.settle_open_intent(order_id, &intent_id, !order_payable)
            .await
    }

    /// The order was cancelled: its open intent is cancelled at Stripe, so that it can no
    /// longer be paid (or, paid meanwhile, settled, which refunds it).
    pub async fn cancel_open_intent(&self, order_id: ObjectId) -> anyhow::Result<()> {
        let Some(stored) = self.payments.intent(order_id).await? else {
            return Ok(());
        };
        match (&stored.intent_id, stored.state) {
            (Some(intent_id), IntentState::Open) => {
                self.settle_open_intent(order_id, intent_id, true).await
            }
            _ => Ok(()),
        }
    }

    /// Looks the order's open intent up at Stripe and settles it: paid, it is claimed or
    /// refunded; cancelled, so recorded; still payable, cancelled at Stripe if `cancel`.
    async fn settle_open_intent(
        &self,
        order_id: ObjectId,
        intent_id: &str,
        cancel: bool,
    ) -> anyhow::Result<()> {
        let mut intent = self.stripe.intent(intent_id).await?;
        if cancel && intent.status == IntentStatus::Payable {
            intent = self.stripe.cancel_intent(intent_id).await?;
        }
        match intent.status {
            IntentStatus::Succeeded => {
                let outcome = self.settle_intent(&intent).await?;
                tracing::info!(order = %order_id, intent = %intent_id, ?outcome, "settled a paid intent");
            }
            IntentStatus::Canceled => {
                self.payments
                    .settle_intent(order_id, Some(intent_id), IntentState::Cancelled)
                    .await?;
                tracing::info!(order = %order_id, intent = %intent_id, "intent cancelled: its order went away unpaid");
            }
            IntentStatus::Processing | IntentStatus::Payable => {}
        }
        Ok(())
    }
}

/// What the order's owner is given of a stored intent that is open and was made.
fn handed_out(stored: IntentDocument) -> Option<MadeIntent> {
    if stored.state != IntentState::Open {
        return None;
    }
    Some(MadeIntent {
        id: stored.intent_id?,
        client_secret: Secret::new(stored.client_secret?),
    })
}
