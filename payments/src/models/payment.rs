//! A payment: a Stripe charge kept for an order.

use common::events::PaymentCreated;
use mongodb::bson::DateTime;
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

/// A payment as stored in the `payments` collection: at most one per order (a unique index on
/// `orderId`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDocument {
    /// The payment's id, the one `POST /api/payments` answers.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The order paid for (24 hex digits, as the original stores it).
    pub order_id: String,
    /// The Stripe charge (`ch_...`).
    pub stripe_id: String,
    /// When it was recorded.
    pub created_at: DateTime,
    /// When the charge was refunded because the order was cancelled after all, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<DateTime>,
    /// The Stripe refund, if Stripe named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}

impl PaymentDocument {
    /// A new payment of `order_id` by `charge_id`.
    pub fn new(order_id: ObjectId, charge_id: &str) -> Self {
        PaymentDocument {
            id: ObjectId::new(),
            order_id: order_id.to_hex(),
            stripe_id: charge_id.to_owned(),
            created_at: DateTime::now(),
            refunded_at: None,
            refund_id: None,
        }
    }

    /// The `payment:created` event announcing it.
    pub fn created_event(&self) -> PaymentCreated {
        PaymentCreated {
            id: self.id.to_hex(),
            order_id: self.order_id.clone(),
            stripe_id: self.stripe_id.clone(),
        }
    }
}
