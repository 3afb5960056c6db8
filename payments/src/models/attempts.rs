//! The `charge_attempts` collection: each charge recorded before Stripe is called, settled
//! once Stripe answered, and leased by the reconciler when nobody settled it (see
//! [`crate::models::attempt`] for an attempt's life).

use std::time::Duration;

use common::mongo::index;
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};

use crate::models::attempt::{AttemptState, ChargeAttempt, settle_update};
use crate::models::lease_stale;
use crate::models::payments::Payments;

impl Payments {
    /// Creates the reconciler's index of unsettled attempts (idempotent).
    pub(super) async fn ensure_attempt_indexes(&self) -> mongodb::error::Result<()> {
        let unsettled = index("unsettled_attempts", doc! { "state": 1, "updatedAt": 1 });
        self.attempts.create_index(unsettled).await?;
        Ok(())
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

    /// Settles the attempt `key` (declined, refused, refunded), forgetting its token; whether
    /// it settled it now (it was pending).
    pub async fn settle_attempt(
        &self,
        key: &str,
        state: AttemptState,
        charge_id: Option<&str>,
        refund_id: Option<&str>,
    ) -> mongodb::error::Result<bool> {
        let settled = self
            .attempts
            .update_one(
                doc! { "_id": key, "state": AttemptState::Pending.as_bson() },
                settle_update(state, charge_id, refund_id),
            )
            .await?;
        Ok(settled.matched_count == 1)
    }

    /// Takes the oldest attempt still pending after `older_than` for the caller to settle, and
    /// leases it (another `older_than`) so that other replicas leave it alone meanwhile.
    pub async fn lease_stale_attempt(
        &self,
        older_than: Duration,
    ) -> mongodb::error::Result<Option<ChargeAttempt>> {
        lease_stale(&self.attempts, AttemptState::Pending.as_bson(), older_than).await
    }
}
