//! The `payments` collection, and the claim that makes a charge an order's payment. What comes
//! before it is in [`crate::models::attempts`] (a card charged by token) and
//! [`crate::models::intents`] (a PaymentIntent the customer pays in the browser).
//!
//! A charge (or a paid intent) becomes the order's payment in one transaction
//! ([`Payments::record`]): the order replica is claimed with a write conditional on it being
//! uncancelled, unpaid and unexpired; then the payment is inserted (unique per order, and per
//! charge or intent) with its `payment:created` record in it ([`common::outbox::FIELD`]), and
//! the attempt or intent is marked recorded. A cancellation is a write on the same replica
//! document, so of a claim and a cancellation racing, exactly one comes first: either the claim
//! sees the order cancelled (and the charge is refunded by whoever holds it), or the
//! cancellation finds the payment on the order (and the listener refunds it).

use common::events::OrderStatus;
use common::mongo::unique_index;
use common::outbox::{Outbox, document_keeping};
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database};

use crate::models::attempt::{AttemptState, ChargeAttempt, settle_update};
use crate::models::intent::{self, IntentDocument, IntentState};
use crate::models::order::OrderDocument;
use crate::models::orders::Orders;
use crate::models::payment::PaymentDocument;

/// The collection of payments, whose documents keep their `payment:created` until published.
const COLLECTION: &str = "payments";

/// What claiming an order for a charge found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The charge is the order's payment now.
    Recorded(PaymentDocument),
    /// This very charge was recorded before (a replay, or a concurrent request with the same
    /// card): the payment's id.
    AlreadyRecorded(ObjectId),
    /// Another charge paid for the order.
    PaidByOther,
    /// The order was cancelled.
    Cancelled,
    /// The order expired.
    Expired,
    /// No such order.
    NotFound,
}

impl Claim {
    /// Whether the charge is kept (as this claim's payment or an earlier one of the same
    /// charge); otherwise it must be refunded.
    pub fn keeps_the_charge(&self) -> bool {
        matches!(self, Claim::Recorded(_) | Claim::AlreadyRecorded(_))
    }
}

/// What a payment settles when it is recorded or refunded: the token charge's attempt, or the
/// order's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settles<'a> {
    /// The charge attempt with this idempotency key.
    Attempt(&'a str),
    /// The order's intent, which Stripe calls this.
    Intent(&'a str),
}

/// The payments, attempts, intents and order claims. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    orders: Orders,
    payments: Collection<PaymentDocument>,
    /// The `charge_attempts` collection ([`crate::models::attempts`]).
    pub(super) attempts: Collection<ChargeAttempt>,
    /// The `payment_intents` collection ([`crate::models::intents`]).
    pub(super) intents: Collection<IntentDocument>,
    /// The `webhook_events` collection: the ids of the Stripe events handled.
    pub(super) webhook_events: Collection<mongodb::bson::Document>,
    outbox: Outbox,
}

impl Payments {
    /// The `payments`, `charge_attempts`, `payment_intents` and `webhook_events` collections of
    /// `database`, with the replica and the outbox their changes involve.
    pub fn new(database: &Database, orders: Orders, outbox: Outbox) -> Payments {
        outbox.keep_events_in(COLLECTION);
        Payments {
            orders,
            payments: database.collection(COLLECTION),
            attempts: database.collection("charge_attempts"),
            intents: database.collection("payment_intents"),
            webhook_events: database.collection("webhook_events"),
            outbox,
        }
    }

    /// Creates the indexes: one payment per order and one order per payment, the reconciler's
    /// lookups, and the relay's to the payments' pending events (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let one_per_order = unique_index("one_payment_per_order", doc! { "orderId": 1 });
        self.payments.create_index(one_per_order).await?;
        let one_per_charge = unique_index("one_order_per_payment", doc! { "stripeId": 1 });
        self.payments.create_index(one_per_charge).await?;
        self.ensure_attempt_indexes().await?;
        self.ensure_intent_indexes().await?;
        self.outbox.ensure_indexes().await
    }

    /// The payment of the order, if one was recorded.
    pub async fn for_order(
        &self,
        order_id: ObjectId,
    ) -> mongodb::error::Result<Option<PaymentDocument>> {
        self.payments
            .find_one(doc! { "orderId": order_id.to_hex() })
            .await
    }

    /// Every payment recorded, oldest first.
    pub async fn all(&self) -> mongodb::error::Result<Vec<PaymentDocument>> {
        self.payments
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await
    }

    /// Cancelled orders whose payment was not refunded yet (normally none for long: the
    /// `order:cancelled` listener refunds them).
    pub async fn cancelled_and_unrefunded(&self) -> mongodb::error::Result<Vec<OrderDocument>> {
        self.orders
            .collection()
            .find(doc! {
                "status": OrderStatus::Cancelled,
                "payment": { "$ne": null },
                "payment.refundedAt": null,
            })
            .limit(100)
            .await?
            .try_collect()
            .await
    }

    /// Makes `charge_id` (a charge, or a paid intent; what it `settles`) the order's payment if
    /// the order is still uncancelled, unpaid and unexpired; otherwise says why not. See the
    /// module docs.
    pub async fn record(
        &self,
        settles: Settles<'_>,
        order_id: ObjectId,
        charge_id: &str,
    ) -> mongodb::error::Result<Claim> {
        let (key, intent) = match settles {
            Settles::Attempt(key) => (Some(key.to_owned()), None),
            Settles::Intent(intent) => (None, Some(intent.to_owned())),
        };
        let context = (
            self.orders.collection().clone(),
            self.payments.clone(),
            (self.attempts.clone(), self.intents.clone()),
            (key, intent, order_id, charge_id.to_owned()),
        );
        self.outbox
            .transaction(
                context,
                async |transaction,
                       (
                    orders,
                    payments,
                    (attempts, intents),
                    (key, intent, order_id, charge_id),
                )| {
                    let payment = PaymentDocument::new(order_id, &charge_id);
                    let claimed = orders
                        .update_one(
                            doc! {
                                "_id": order_id,
                                "status": { "$ne": OrderStatus::Cancelled },
                                "payment": null,
                                "expiresAt": { "$gt": DateTime::now() },
                            },
                            doc! { "$set": {
                                "payment": { "id": payment.id, "chargeId": &charge_id },
                            } },
                        )
                        .session(transaction.session())
                        .await?;
                    if claimed.matched_count == 0 {
                        let order = orders
                            .find_one(doc! { "_id": order_id })
                            .session(transaction.session())
                            .await?;
                        return Ok(why_not(order, &charge_id));
                    }
                    let kept =
                        transaction.keep(COLLECTION, payment.id, &payment.created_event())?;
                    payments
                        .clone_with_type::<Document>()
                        .insert_one(document_keeping(&payment, &kept)?)
                        .session(transaction.session())
                        .await?;
                    if let Some(key) = &key {
                        attempts
                            .update_one(
                                doc! { "_id": key },
                                settle_update(AttemptState::Recorded, Some(&charge_id), None),
                            )
                            .session(transaction.session())
                            .await?;
                    }
                    if let Some(intent) = &intent {
                        intents
                            .update_one(
                                doc! { "_id": order_id, "intentId": intent },
                                intent::settle_update(IntentState::Recorded),
                            )
                            .session(transaction.session())
                            .await?;
                    }
                    Ok(Claim::Recorded(payment))
                },
            )
            .await
    }

    /// Records that the payment `charge_id` of the order was refunded (`refund_id` if Stripe
    /// named one): on the order, the payment and its attempt or intent, in one transaction.
    /// Whether it recorded it now: a refund recorded before is left as it was.
    pub async fn mark_refunded(
        &self,
        order_id: ObjectId,
        charge_id: &str,
        refund_id: Option<&str>,
    ) -> mongodb::error::Result<bool> {
        let context = (
            self.orders.collection().clone(),
            self.payments.clone(),
            (self.attempts.clone(), self.intents.clone()),
            (order_id, charge_id.to_owned(), refund_id.map(str::to_owned)),
        );
        self.outbox
            .transaction(
                context,
                async |transaction,
                       (
                    orders,
                    payments,
                    (attempts, intents),
                    (order_id, charge_id, refund_id),
                )| {
                    let now = DateTime::now();
                    let marked = orders
                        .update_one(
                            doc! {
                                "_id": order_id,
                                "payment.chargeId": &charge_id,
                                "payment.refundedAt": null,
                            },
                            doc! { "$set": { "payment.refundedAt": now } },
                        )
                        .session(transaction.session())
                        .await?;
                    if marked.matched_count == 0 {
                        return Ok(false);
                    }
                    let mut refunded = doc! { "refundedAt": now };
                    if let Some(refund_id) = &refund_id {
                        refunded.insert("refundId", refund_id);
                    }
                    payments
                        .update_one(
                            doc! { "orderId": order_id.to_hex(), "stripeId": &charge_id },
                            doc! { "$set": refunded },
                        )
                        .session(transaction.session())
                        .await?;
                    attempts
                        .update_many(
                            doc! { "chargeId": &charge_id },
                            settle_update(AttemptState::Refunded, None, refund_id.as_deref()),
                        )
                        .session(transaction.session())
                        .await?;
                    intents
                        .update_one(
                            doc! { "_id": order_id, "intentId": &charge_id },
                            intent::settle_update(IntentState::Refunded),
                        )
                        .session(transaction.session())
                        .await?;
                    Ok(true)
                },
            )
            .await
    }
}

/// Why the claim of `order` for `charge_id` did not match (read in the same transaction).
fn why_not(order: Option<OrderDocument>, charge_id: &str) -> Claim {
    let Some(order) = order else {
        return Claim::NotFound;
    };
    match &order.payment {
        Some(payment) if payment.charge_id == charge_id => Claim::AlreadyRecorded(payment.id),
        _ if order.status == OrderStatus::Cancelled => Claim::Cancelled,
        Some(_) => Claim::PaidByOther,
        // Neither cancelled nor paid: the expiry is what failed.
        None => Claim::Expired,
    }
}
