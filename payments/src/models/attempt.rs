//! A charge attempt: recorded before Stripe is called, so that no charge is ever made that
//! this service does not know about.
//!
//! The attempt's id is the charge's idempotency key. It starts `pending`; the request that made
//! it settles it once Stripe answered (`declined`, `refused`, `recorded` or `refunded`). If the
//! request never got there (the process died, Stripe's answer was lost), the reconciler finds it
//! still pending, replays the charge with the same key (Stripe answers as the first time) and
//! settles it. The card token is kept only while the attempt is pending, as a replay must send
//! the exact same parameters; it is never logged.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc, to_bson};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where an attempt is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptState {
    /// Stripe was (or is being) called; the outcome is not recorded yet.
    Pending,
    /// The card was declined: no money moved.
    Declined,
    /// Stripe refused the request (an unknown token): no money moved.
    Refused,
    /// The charge is the order's payment.
    Recorded,
    /// The charge could not be kept (the order was cancelled, expired or paid otherwise) and
    /// was refunded.
    Refunded,
}

impl AttemptState {
    /// As stored.
    pub fn as_bson(self) -> mongodb::bson::Bson {
        to_bson(&self).unwrap_or(mongodb::bson::Bson::Null)
    }
}

/// An attempt as stored in the `charge_attempts` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeAttempt {
    /// The idempotency key of the charge (see [`charge_key`]).
    #[serde(rename = "_id")]
    pub key: String,
    /// The order it pays for.
    pub order_id: ObjectId,
    /// The amount charged, in cents.
    pub amount: i64,
    /// The card token, kept only while pending (a replay needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Where it is.
    pub state: AttemptState,
    /// The Stripe charge, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    /// The Stripe refund, if the charge was refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// When it was first made.
    pub created_at: DateTime,
    /// When it was last started or replayed: the reconciler leaves younger ones alone.
    pub updated_at: DateTime,
}

/// The idempotency key of a charge of `order_id` with `token`.
///
/// The order id keeps the retries of one attempt from charging twice; the token's hash makes
/// a retry with another card a new attempt (Stripe saves a decline under its key, so a key of
/// the order alone would answer every later card with the first decline). The token itself is
/// not in the key: keys show up in Stripe's dashboard and logs.
pub fn charge_key(order_id: ObjectId, token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!(
        "charge-{}-{}",
        order_id.to_hex(),
        &hex::encode(digest)[..16]
    )
}

/// The idempotency key of the refund of `charge_id`: one refund per charge, whoever asks.
pub fn refund_key(charge_id: &str) -> String {
    format!("refund-{charge_id}")
}

/// The update settling an attempt in `state`, with what is known of the money.
pub(crate) fn settle_update(
    state: AttemptState,
    charge_id: Option<&str>,
    refund_id: Option<&str>,
) -> mongodb::bson::Document {
    let mut set = doc! { "state": state.as_bson(), "updatedAt": DateTime::now() };
    if let Some(charge_id) = charge_id {
        set.insert("chargeId", charge_id);
    }
    if let Some(refund_id) = refund_id {
        set.insert("refundId", refund_id);
    }
    doc! { "$set": set, "$unset": { "token": "" } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_order_and_the_card_without_the_token() {
        let order = ObjectId::parse_str("5f1c9a7e2d4b3a0012345678").unwrap_or_default();
        let visa = charge_key(order, "tok_visa");
        assert!(visa.starts_with("charge-5f1c9a7e2d4b3a0012345678-"));
        assert_eq!(visa.len(), "charge-".len() + 24 + 1 + 16);
        assert!(!visa.contains("tok_visa"));
        assert_eq!(visa, charge_key(order, "tok_visa"));
        assert_ne!(visa, charge_key(order, "tok_mastercard"));
        assert_ne!(visa, charge_key(ObjectId::new(), "tok_visa"));
        assert_eq!(refund_key("ch_1"), "refund-ch_1");
    }

    #[test]
    fn states_are_stored_in_lower_case() {
        assert_eq!(
            AttemptState::Recorded.as_bson(),
            mongodb::bson::Bson::String("recorded".into())
        );
    }
}
