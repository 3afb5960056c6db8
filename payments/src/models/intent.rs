//! A payment intent: the Stripe PaymentIntent made for an order, recorded before its client
//! secret is handed out, so that every intent a customer can pay is one this service knows of.
//!
//! One per order (its `_id` is the order's). It is `open` from when it is asked for until the
//! money is settled: `recorded` when its payment became the order's, `refunded` when the order
//! could not take it, `cancelled` when it was cancelled at Stripe unpaid (the order went away).
//! The webhook settles it; the reconciler looks up at Stripe the open ones nobody settled.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc, to_bson};
use serde::{Deserialize, Serialize};

/// Where an intent is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentState {
    /// Handed out (or being made); not paid as far as this service knows.
    Open,
    /// Its payment is the order's.
    Recorded,
    /// It was paid, but the order could not take it: refunded.
    Refunded,
    /// Cancelled at Stripe unpaid: it can never be paid.
    Cancelled,
}

impl IntentState {
    /// As stored.
    pub fn as_bson(self) -> mongodb::bson::Bson {
        to_bson(&self).unwrap_or(mongodb::bson::Bson::Null)
    }
}

/// An intent as stored in the `payment_intents` collection (its `Debug` leaves the client
/// secret out).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentDocument {
    /// The order it pays for.
    #[serde(rename = "_id")]
    pub order_id: ObjectId,
    /// The amount asked, in cents.
    pub amount: i64,
    /// Stripe's id (`pi_...`), once Stripe made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    /// What the customer's browser confirms it with; handed to the order's owner only, and
    /// never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Where it is.
    pub state: IntentState,
    /// When it was first asked for.
    pub created_at: DateTime,
    /// When it was last made or looked at: the reconciler leaves younger ones alone.
    pub updated_at: DateTime,
}

impl std::fmt::Debug for IntentDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntentDocument")
            .field("order_id", &self.order_id)
            .field("amount", &self.amount)
            .field("intent_id", &self.intent_id)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// The idempotency key of the intent of `order_id`: asking twice makes one intent.
pub fn intent_key(order_id: ObjectId) -> String {
    format!("intent-{}", order_id.to_hex())
}

/// The update settling an intent in `state`: the client secret is no longer needed.
pub(crate) fn settle_update(state: IntentState) -> mongodb::bson::Document {
    doc! {
        "$set": { "state": state.as_bson(), "updatedAt": DateTime::now() },
        "$unset": { "clientSecret": "" },
    }
}
