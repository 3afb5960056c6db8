//! The payments service's own metrics: what became of the money, counted where each outcome
//! is recorded, once that record is written, so a replay (the reconciler's, a redelivered
//! event or webhook, a refund asked for twice) counts nothing more. Both ways of paying count
//! alike: a card token charged (`POST /api/payments`) and a PaymentIntent settled by its
//! webhook or the reconciler.
//!
//! - `payments_succeeded_total`: a charge or a paid intent became its order's payment
//!   ([`crate::checkout`], when [`crate::models::Payments::record`] claims the order);
//! - `payments_declined_total`: a card was declined (a charge attempt settled as declined), or
//!   Stripe said an attempt to pay one of this service's intents failed
//!   (`payment_intent.payment_failed`, once per event);
//! - `payments_refunded_total`: a payment was refunded and the refund recorded: a charge or
//!   intent its order could not take, or the payment of an order cancelled afterwards.
//!
//! Stripe's calls are timed and their failures counted in [`crate::stripe`]
//! (`stripe_request_duration_seconds`, `stripe_errors_total`). The process's recorder and the
//! HTTP, MongoDB, bus and outbox families are `common`'s ([`common::metrics`]).

/// A payment was recorded as its order's.
pub fn payment_succeeded() {
    ::metrics::counter!("payments_succeeded_total").increment(1);
}

/// A card was declined, or an intent's payment failed.
pub fn payment_declined() {
    ::metrics::counter!("payments_declined_total").increment(1);
}

/// A payment was refunded.
pub fn payment_refunded() {
    ::metrics::counter!("payments_refunded_total").increment(1);
}
