//! A charge and a refund as the books keep them: what [`crate::ledger`] records and
//! [`crate::objects`] writes as Stripe's JSON, and what `GET /__ledger` shows.

use serde::{Deserialize, Serialize};

/// A charge as the books keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeEntry {
    /// `ch_...`.
    pub id: String,
    /// In the currency's smallest unit (cents).
    pub amount: i64,
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: String,
    /// The token charged.
    pub source: String,
    /// Whether the card was charged (false for a declined one).
    pub paid: bool,
    /// How much of it was refunded so far.
    pub amount_refunded: i64,
    /// Seconds since the epoch.
    pub created: i64,
    /// Why it was declined, if it was.
    pub failure_code: Option<String>,
    /// The decline's message, if it was declined.
    pub failure_message: Option<String>,
    /// The `Idempotency-Key` of the request that created it.
    pub idempotency_key: Option<String>,
}

impl ChargeEntry {
    /// Whether it was charged and is refunded in full.
    pub fn refunded(&self) -> bool {
        self.paid && self.amount_refunded >= self.amount
    }
}

/// A refund as the books keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEntry {
    /// `re_...`.
    pub id: String,
    /// The charge refunded.
    pub charge: String,
    /// How much, in the smallest unit.
    pub amount: i64,
    /// The charge's currency.
    pub currency: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The `Idempotency-Key` of the request that created it.
    pub idempotency_key: Option<String>,
}
