//! The money records: payments, charge attempts, and the claim that makes a charge an order's
//! payment.
//!
//! A charge becomes the order's payment in one transaction ([`Payments::record`]): the order
//! replica is claimed with a write conditional on it being uncancelled, unpaid and unexpired;
//! then the payment is inserted (unique per order), `payment:created` goes to the outbox and
//! the attempt is marked recorded. A cancellation is a write on the same replica document, so
//! of a claim and a cancellation racing, exactly one comes first: either the claim sees the
//! order cancelled (and the charge is refunded by whoever holds it), or the cancellation finds
//! the payment on the order (and the listener refunds it).
//!
//! Transaction bodies own clones of what they use: the driver may run a body more than once.

use std::time::Duration;

use common::events::OrderStatus;
use common::outbox::Outbox;
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc, to_bson};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};

use crate::models::attempt::{AttemptState, ChargeAttempt, settle_update};
use crate::models::order::OrderDocument;
use crate::models::orders::Orders;
use crate::models::payment::PaymentDocument;

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

/// The payments, attempts and order claims. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    orders: Orders,
    payments: Collection<PaymentDocument>,
    attempts: Collection<ChargeAttempt>,
    outbox: Outbox,
}

impl Payments {
    /// The `payments` and `charge_attempts` collections of `database`, with the replica and the
    /// outbox their changes involve.
    pub fn new(database: &Database, orders: Orders, outbox: Outbox) -> Payments {
        Payments {
            orders,
            payments: database.collection("payments"),
            attempts: database.collection("charge_attempts"),
            outbox,
        }
    }

    /// Creates the indexes: one payment per order, and the reconciler's lookup (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let one_per_order = IndexModel::builder()
            .keys(doc! { "orderId": 1 })
            .options(
                IndexOptions::builder()
                    .name("one_payment_per_order".to_owned())
                    .unique(true)
                    .build(),
            )
            .build();
        self.payments.create_index(one_per_order).await?;
        let unsettled = IndexModel::builder()
            .keys(doc! { "state": 1, "updatedAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("unsettled_attempts".to_owned())
                    .build(),
            )
            .build();
        self.attempts.create_index(unsettled).await?;
        Ok(())
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

    /// The attempt with this idempotency key.
    pub async fn attempt(&self, key: &str) -> mongodb::error::Result<Option<ChargeAttempt>> {
        self.attempts.find_one(doc! { "_id": key }).await
    }

    /// Every attempt to pay for the order.
    pub async fn attempts_for(
        &self,
        order_id: ObjectId,
    ) -> mongodb::error::Result<Vec<ChargeAttempt>> {
        self.attempts
            .find(doc! { "orderId": order_id })
            .sort(doc! { "createdAt": 1 })
            .await?
            .try_collect()
            .await
    }

    /// Records that the charge `key` is about to be made, before Stripe is called. A repeated
    /// attempt that moved no money (declined, refused) is armed again. Returns `false` when the
    /// attempt already moved money (recorded or refunded): it must not be made again.
    pub async fn begin_attempt(
        &self,
        key: &str,
        order_id: ObjectId,
        amount: i64,
        token: &str,
    ) -> mongodb::error::Result<bool> {
        let now = DateTime::now();
        let moved_no_money = vec![
            AttemptState::Pending.as_bson(),
            AttemptState::Declined.as_bson(),
            AttemptState::Refused.as_bson(),
        ];
        let filter = doc! { "_id": key, "state": { "$in": moved_no_money } };
        let update = doc! {
            "$set": {
                "orderId": order_id,
                "amount": amount,
                "token": token,
                "state": AttemptState::Pending.as_bson(),
                "updatedAt": now,
            },
            "$setOnInsert": { "createdAt": now },
        };
        match self
            .attempts
            .update_one(filter.clone(), update.clone())
            .upsert(true)
            .await
        {
            Ok(_) => Ok(true),
            // The key exists: either in a state the filter excludes (money moved), or it was
            // inserted by a concurrent request with the same card. Without the insert, the
            // update tells which.
            Err(error) if common::mongo::is_duplicate_key(&error) => {
                let updated = self.attempts.update_one(filter, update).await?;
                Ok(updated.matched_count == 1)
            }
            Err(error) => Err(error),
        }
    }

    /// Settles the attempt `key` (declined, refused, refunded), forgetting its token.
    pub async fn settle_attempt(
        &self,
        key: &str,
        state: AttemptState,
        charge_id: Option<&str>,
        refund_id: Option<&str>,
    ) -> mongodb::error::Result<()> {
        self.attempts
            .update_one(
                doc! { "_id": key, "state": AttemptState::Pending.as_bson() },
                settle_update(state, charge_id, refund_id),
            )
            .await?;
        Ok(())
    }

    /// Takes the oldest attempt still pending after `older_than` for the caller to settle, and
    /// leases it (another `older_than`) so that other replicas leave it alone meanwhile.
    pub async fn lease_stale_attempt(
        &self,
        older_than: Duration,
    ) -> mongodb::error::Result<Option<ChargeAttempt>> {
        let now = DateTime::now();
        let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let cutoff = DateTime::from_millis(now.timestamp_millis().saturating_sub(age));
        self.attempts
            .find_one_and_update(
                doc! { "state": AttemptState::Pending.as_bson(), "updatedAt": { "$lt": cutoff } },
                doc! { "$set": { "updatedAt": now } },
            )
            .sort(doc! { "updatedAt": 1 })
            .return_document(ReturnDocument::After)
            .await
    }

    /// Cancelled orders whose payment was not refunded yet (normally none for long: the
    /// `order:cancelled` listener refunds them).
    pub async fn cancelled_and_unrefunded(&self) -> mongodb::error::Result<Vec<OrderDocument>> {
        let cancelled = to_bson(&OrderStatus::Cancelled)
            .map_err(|error| mongodb::error::Error::custom(format!("order status: {error}")))?;
        self.orders
            .collection()
            .find(doc! {
                "status": cancelled,
                "payment": { "$ne": null },
                "payment.refundedAt": null,
            })
            .limit(100)
            .await?
            .try_collect()
            .await
    }

    /// Makes `charge_id` (attempt `key`) the order's payment if the order is still uncancelled,
    /// unpaid and unexpired; otherwise says why not. See the module docs.
    pub async fn record(
        &self,
        key: &str,
        order_id: ObjectId,
        charge_id: &str,
    ) -> mongodb::error::Result<Claim> {
        let (orders, payments) = (self.orders.collection().clone(), self.payments.clone());
        let (attempts, outbox) = (self.attempts.clone(), self.outbox.clone());
        let (key, charge_id) = (key.to_owned(), charge_id.to_owned());
        let cancelled = to_bson(&OrderStatus::Cancelled)
            .map_err(|error| mongodb::error::Error::custom(format!("order status: {error}")))?;
        let mut session = orders.client().start_session().await?;
        let claim = session
            .start_transaction()
            .and_run2(async move |session| {
                let (orders, payments) = (orders.clone(), payments.clone());
                let (attempts, outbox) = (attempts.clone(), outbox.clone());
                let (key, charge_id, cancelled) = (key.clone(), charge_id.clone(), cancelled.clone());
                let payment = PaymentDocument::new(order_id, &charge_id);
                let now = DateTime::now();
                let claimed = orders
                    .update_one(
                        doc! {
                            "_id": order_id,
                            "status": { "$ne": cancelled },
                            "payment": null,
                            "expiresAt": { "$gt": now },
                        },
                        doc! { "$set": { "payment": { "id": payment.id, "chargeId": &charge_id } } },
                    )
                    .session(&mut *session)
                    .await?;
                if claimed.matched_count == 1 {
                    payments.insert_one(&payment).session(&mut *session).await?;
                    outbox.add(session, &payment.created_event()).await?;
                    attempts
                        .update_one(
                            doc! { "_id": &key },
                            settle_update(AttemptState::Recorded, Some(&charge_id), None),
                        )
                        .session(&mut *session)
                        .await?;
                    return Ok(Claim::Recorded(payment));
                }
                let order = orders
                    .find_one(doc! { "_id": order_id })
                    .session(&mut *session)
                    .await?;
                Ok(why_not(order, &charge_id))
            })
            .await?;
        if matches!(claim, Claim::Recorded(_)) {
            self.outbox.wake();
        }
        Ok(claim)
    }

    /// Records that the payment `charge_id` of the order was refunded (`refund_id` if Stripe
    /// named one): on the order, the payment and its attempt, in one transaction.
    pub async fn mark_refunded(
        &self,
        order_id: ObjectId,
        charge_id: &str,
        refund_id: Option<&str>,
    ) -> mongodb::error::Result<()> {
        let (orders, payments) = (self.orders.collection().clone(), self.payments.clone());
        let attempts = self.attempts.clone();
        let charge_id = charge_id.to_owned();
        let refund_id = refund_id.map(str::to_owned);
        let mut session = orders.client().start_session().await?;
        session
            .start_transaction()
            .and_run2(async move |session| {
                let (orders, payments, attempts) =
                    (orders.clone(), payments.clone(), attempts.clone());
                let (charge_id, refund_id) = (charge_id.clone(), refund_id.clone());
                let now = DateTime::now();
                orders
                    .update_one(
                        doc! { "_id": order_id, "payment.chargeId": &charge_id },
                        doc! { "$set": { "payment.refundedAt": now } },
                    )
                    .session(&mut *session)
                    .await?;
                let mut refunded = doc! { "refundedAt": now };
                if let Some(refund_id) = &refund_id {
                    refunded.insert("refundId", refund_id);
                }
                payments
                    .update_one(
                        doc! { "orderId": order_id.to_hex(), "stripeId": &charge_id },
                        doc! { "$set": refunded },
                    )
                    .session(&mut *session)
                    .await?;
                attempts
                    .update_many(
                        doc! { "chargeId": &charge_id },
                        settle_update(AttemptState::Refunded, None, refund_id.as_deref()),
                    )
                    .session(&mut *session)
                    .await?;
                Ok(())
            })
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
