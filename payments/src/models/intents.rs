//! The `payment_intents` collection (see [`crate::models::intent`] for an intent's life), and
//! `webhook_events`: the Stripe events already handled, so a redelivery is answered at once.

use std::time::Duration;

use common::mongo::{index, is_duplicate_key};
use mongodb::IndexModel;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};
use mongodb::options::{IndexOptions, ReturnDocument};

use crate::models::intent::{IntentDocument, IntentState, settle_update};
use crate::models::lease_stale;
use crate::models::payments::Payments;

/// How long a handled event's id is kept: ten times the three days Stripe redelivers an
/// event for (and resends from its dashboard within thirty).
const EVENTS_KEPT: Duration = Duration::from_secs(30 * 24 * 3600);

impl Payments {
    /// Creates the reconciler's index of open intents, and the expiry of handled events
    /// (idempotent).
    pub(super) async fn ensure_intent_indexes(&self) -> mongodb::error::Result<()> {
        let open = index("open_intents", doc! { "state": 1, "updatedAt": 1 });
        self.intents.create_index(open).await?;
        let by_intent = index("by_intent_id", doc! { "intentId": 1 });
        self.intents.create_index(by_intent).await?;
        let expiry = IndexModel::builder()
            .keys(doc! { "handledAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("expire_handled_events".to_owned())
                    .expire_after(EVENTS_KEPT)
                    .build(),
            )
            .build();
        self.webhook_events.create_index(expiry).await?;
        Ok(())
    }

    /// The intent of the order, if one was asked for.
    pub async fn intent(
        &self,
        order_id: ObjectId,
    ) -> mongodb::error::Result<Option<IntentDocument>> {
        self.intents.find_one(doc! { "_id": order_id }).await
    }

    /// The intent Stripe calls `intent_id`, if this service made it. One whose answer was never
    /// recorded (the process died between Stripe's answer and the record) is found by the
    /// order its metadata names, and recorded now.
    pub async fn intent_made_as(
        &self,
        intent_id: &str,
        order_id: Option<ObjectId>,
    ) -> mongodb::error::Result<Option<IntentDocument>> {
        if let Some(found) = self
            .intents
            .find_one(doc! { "intentId": intent_id })
            .await?
        {
            return Ok(Some(found));
        }
        let Some(order_id) = order_id else {
            return Ok(None);
        };
        self.intents
            .find_one_and_update(
                doc! { "_id": order_id, "intentId": null },
                doc! { "$set": { "intentId": intent_id, "updatedAt": DateTime::now() } },
            )
            .return_document(ReturnDocument::After)
            .await
    }

    /// Records that an intent of `amount` cents is about to be made for the order, unless one
    /// was: the intent as stored.
    pub async fn open_intent(
        &self,
        order_id: ObjectId,
        amount: i64,
    ) -> mongodb::error::Result<IntentDocument> {
        let now = DateTime::now();
        let update = doc! { "$setOnInsert": {
            "amount": amount,
            "state": IntentState::Open.as_bson(),
            "createdAt": now,
            "updatedAt": now,
        } };
        let upsert = || {
            self.intents
                .find_one_and_update(doc! { "_id": order_id }, update.clone())
                .upsert(true)
                .return_document(ReturnDocument::After)
        };
        let found = match upsert().await {
            // Two requests inserting at once: the loser finds the winner's.
            Err(error) if is_duplicate_key(&error) => upsert().await?,
            other => other?,
        };
        found.ok_or_else(|| mongodb::error::Error::custom("an upserted intent was not returned"))
    }

    /// Records what Stripe made for the order's intent.
    pub async fn intent_made(
        &self,
        order_id: ObjectId,
        intent_id: &str,
        client_secret: &str,
    ) -> mongodb::error::Result<()> {
        self.intents
            .update_one(
                doc! { "_id": order_id },
                doc! { "$set": {
                    "intentId": intent_id,
                    "clientSecret": client_secret,
                    "updatedAt": DateTime::now(),
                } },
            )
            .await?;
        Ok(())
    }

    /// Settles the order's intent in `state`, forgetting its client secret, if it is still
    /// open and (when Stripe named it) is `intent_id`; whether it settled it now.
    pub async fn settle_intent(
        &self,
        order_id: ObjectId,
        intent_id: Option<&str>,
        state: IntentState,
    ) -> mongodb::error::Result<bool> {
        let mut filter = doc! { "_id": order_id, "state": IntentState::Open.as_bson() };
        if let Some(intent_id) = intent_id {
            filter.insert("intentId", intent_id);
        }
        let settled = self
            .intents
            .update_one(filter, settle_update(state))
            .await?;
        Ok(settled.matched_count == 1)
    }

    /// Takes the oldest intent still open after `older_than` for the caller to look up at
    /// Stripe, and leases it (another `older_than`) so that other replicas leave it alone.
    pub async fn lease_stale_intent(
        &self,
        older_than: Duration,
    ) -> mongodb::error::Result<Option<IntentDocument>> {
        lease_stale(&self.intents, IntentState::Open.as_bson(), older_than).await
    }

    /// Whether the Stripe event `event_id` was handled already.
    pub async fn event_handled(&self, event_id: &str) -> mongodb::error::Result<bool> {
        let found = self
            .webhook_events
            .find_one(doc! { "_id": event_id })
            .projection(doc! { "_id": 1 })
            .await?;
        Ok(found.is_some())
    }

    /// Records that the Stripe event `event_id` (of `kind`) was handled; whether this call
    /// recorded it (not a concurrent delivery of the same event).
    pub async fn event_done(&self, event_id: &str, kind: &str) -> mongodb::error::Result<bool> {
        let record = doc! { "_id": event_id, "type": kind, "handledAt": DateTime::now() };
        match self.webhook_events.insert_one(record).await {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
