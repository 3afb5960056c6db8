//! What the books keep: charges, refunds, payment intents and the events about them. These are
//! what [`crate::ledger`] records, what [`crate::objects`] writes as Stripe's JSON, and what
//! `GET /__ledger` and `GET /__events` show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A charge as the books keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeEntry {
    /// `ch_...`.
    pub id: String,
    /// In the currency's smallest unit (cents).
    pub amount: i64,
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: String,
    /// The token or payment method charged.
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
    /// The payment intent it was made for (none for `POST /v1/charges`).
    #[serde(default)]
    pub payment_intent: Option<String>,
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
    /// The payment intent whose charge it refunds, if the charge was made for one.
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// Where a payment intent is in its life, with Stripe's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    /// Created, or its last attempt failed: it waits for a card.
    RequiresPaymentMethod,
    /// It has a card and waits to be confirmed.
    RequiresConfirmation,
    /// The card needs 3-D Secure: the customer must authenticate.
    RequiresAction,
    /// Paid: its charge succeeded.
    Succeeded,
    /// Cancelled before it was paid.
    Canceled,
}

impl IntentStatus {
    /// Stripe's name, e.g. `requires_payment_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::Canceled => "canceled",
        }
    }
}

/// Why the last attempt to pay an intent failed (its `last_payment_error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentError {
    /// `card_error` for a decline, `invalid_request_error` for a failed authentication.
    #[serde(rename = "type")]
    pub type_: String,
    /// e.g. `card_declined`, `payment_intent_authentication_failure`.
    pub code: String,
    /// The issuer's reason for a decline, e.g. `insufficient_funds`.
    pub decline_code: Option<String>,
    /// The message meant for the customer.
    pub message: String,
    /// The declined charge, if one was attempted.
    pub charge: Option<String>,
}

/// A payment intent as the books keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentEntry {
    /// `pi_...`.
    pub id: String,
    /// `pi_..._secret_...`: what lets a browser with the publishable key read and confirm it.
    pub client_secret: String,
    /// In the currency's smallest unit (cents).
    pub amount: i64,
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: String,
    /// Where it is in its life.
    pub status: IntentStatus,
    /// The `metadata[...]` it was created with, e.g. `orderId`.
    pub metadata: BTreeMap<String, String>,
    /// Whether it was created with `automatic_payment_methods[enabled]=true`.
    pub automatic_payment_methods: bool,
    /// The test payment method attached, e.g. `pm_card_visa` (cleared by a failed attempt).
    pub payment_method: Option<String>,
    /// The charge of the last attempt, successful or declined.
    pub latest_charge: Option<String>,
    /// How much was charged: its amount once it succeeded.
    pub amount_received: i64,
    /// Why the last attempt failed, while it waits for another card.
    pub last_payment_error: Option<PaymentError>,
    /// Where the customer authenticates, while it requires action.
    pub redirect_url: Option<String>,
    /// Where the customer goes back to after authenticating.
    pub return_url: Option<String>,
    /// Seconds since the epoch.
    pub created: i64,
    /// When it was cancelled, if it was.
    pub canceled_at: Option<i64>,
    /// Why it was cancelled, if a reason was given.
    pub cancellation_reason: Option<String>,
    /// The `Idempotency-Key` of the request that created it.
    pub idempotency_key: Option<String>,
}

/// The events the fake sends about payment intents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentEvent {
    /// It was paid.
    #[serde(rename = "payment_intent.succeeded")]
    Succeeded,
    /// An attempt to pay it was declined or failed authentication.
    #[serde(rename = "payment_intent.payment_failed")]
    PaymentFailed,
    /// The customer must authenticate (3-D Secure).
    #[serde(rename = "payment_intent.requires_action")]
    RequiresAction,
    /// It was cancelled.
    #[serde(rename = "payment_intent.canceled")]
    Canceled,
}

impl IntentEvent {
    /// Stripe's event type, e.g. `payment_intent.succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentEvent::Succeeded => "payment_intent.succeeded",
            IntentEvent::PaymentFailed => "payment_intent.payment_failed",
            IntentEvent::RequiresAction => "payment_intent.requires_action",
            IntentEvent::Canceled => "payment_intent.canceled",
        }
    }
}

/// An event and how its delivery to the webhook endpoint went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEntry {
    /// `evt_...`.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub type_: IntentEvent,
    /// The intent it is about.
    pub payment_intent: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// How many times it was sent to the endpoint so far.
    pub attempts: u32,
    /// Whether the endpoint answered 2xx to one of them.
    pub delivered: bool,
    /// Whether its automatic retries ran out before it was delivered.
    pub retries_exhausted: bool,
    /// The status of the endpoint's last answer; none if it was never reached.
    pub last_status: Option<u16>,
    /// The event as it is sent: `{"id","object":"event","data":{"object":<intent>},...}`.
    pub payload: Value,
}

impl EventEntry {
    /// Whether it still waits for its automatic delivery.
    pub fn pending(&self) -> bool {
        !self.delivered && !self.retries_exhausted
    }
}
