//! An order as the payments service knows it: a replica of the orders service's order, plus
//! the payment that claimed it.

use chrono::{DateTime, Utc};
use common::events::{OrderCreated, OrderStatus};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

/// The largest amount charged, in cents: Stripe's eight digits for USD.
const MAX_AMOUNT_CENTS: f64 = 99_999_999.0;

/// An order as stored in the `orders` collection of the payments database (as the original's,
/// plus `expiresAt` for docs/decisions.md #11 and the payment claim).
///
/// `_id`, `userId`, `price`, `status`, `version` and `expiresAt` are copied from the orders
/// service's events; `payment` is this service's own: the payment that paid for the order,
/// claimed atomically, so at most one charge is ever kept per order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDocument {
    /// The orders service's id for it.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// Who placed it (and may pay for it).
    pub user_id: String,
    /// The ticket's price, in dollars.
    pub price: f64,
    /// `created`, or `cancelled` once the orders service cancelled it.
    pub status: OrderStatus,
    /// The version of the last event applied.
    pub version: i64,
    /// When it stops waiting for payment.
    pub expires_at: mongodb::bson::DateTime,
    /// The payment that claimed it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentClaim>,
}

/// The payment recorded for an order, as the order carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentClaim {
    /// The payment's id.
    pub id: ObjectId,
    /// The Stripe charge kept for the order.
    pub charge_id: String,
    /// When the charge was refunded (the order was cancelled after all), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<mongodb::bson::DateTime>,
}

impl OrderDocument {
    /// The replica of a new order, at the event's version.
    pub fn from_event(id: ObjectId, event: &OrderCreated) -> Self {
        OrderDocument {
            id,
            user_id: event.user_id.clone(),
            price: event.ticket.price,
            status: event.status,
            version: event.version,
            expires_at: mongodb::bson::DateTime::from_millis(event.expires_at.timestamp_millis()),
            payment: None,
        }
    }

    /// When it expires, as a chrono time.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.expires_at.timestamp_millis()).unwrap_or_default()
    }

    /// Whether it can no longer be paid at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now > self.expires_at()
    }

    /// What it costs in cents, rounded (docs/decisions.md #10: `19.99` is `1999`, not
    /// `1998.9999...`); `None` for a price no card can pay.
    pub fn amount_cents(&self) -> Option<i64> {
        amount_cents(self.price)
    }

    /// Whether a payment was kept for it and not refunded.
    pub fn unrefunded_payment(&self) -> Option<&PaymentClaim> {
        self.payment
            .as_ref()
            .filter(|payment| payment.refunded_at.is_none())
    }
}

/// `price` dollars in cents, rounded to the nearest cent.
pub fn amount_cents(price: f64) -> Option<i64> {
    let cents = (price * 100.0).round();
    if cents.is_finite() && (0.0..=MAX_AMOUNT_CENTS).contains(&cents) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "whole and within eight digits"
        )]
        Some(cents as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_rounded_to_cents() {
        assert_eq!(amount_cents(19.99), Some(1999));
        assert_eq!(amount_cents(20.0), Some(2000));
        assert_eq!(amount_cents(0.575), Some(57));
        assert_eq!(amount_cents(4.35), Some(435));
        assert_eq!(amount_cents(1.005), Some(100));
        assert_eq!(amount_cents(f64::NAN), None);
        assert_eq!(amount_cents(-1.0), None);
        assert_eq!(amount_cents(1e12), None);
    }
}
