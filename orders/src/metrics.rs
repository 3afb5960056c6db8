//! The orders service's own metrics: what became of orders, counted where each rule takes
//! effect, once the change is committed (the write or transaction succeeded), so a duplicate
//! or replayed request or event, which changes nothing, counts nothing.
//!
//! - `orders_created_total`: `POST /api/orders` stored an order ([`crate::routes`]);
//! - `orders_cancelled_total`: its buyer cancelled an unpaid order (`DELETE /api/orders/:id`
//!   that changed it; cancelling a cancelled order again does not count);
//! - `orders_expired_total`: `expiration:complete` cancelled an order still unpaid (not one
//!   paid or cancelled meanwhile, nor a redelivered event);
//! - `orders_completed_total`: `payment:created` completed an order (not a duplicate, nor a
//!   payment for a cancelled order).
//!
//! The process's recorder and the HTTP, MongoDB, bus and outbox families are `common`'s
//! ([`common::metrics`]).

/// An order was stored.
pub fn order_created() {
    ::metrics::counter!("orders_created_total").increment(1);
}

/// Its buyer cancelled an unpaid order.
pub fn order_cancelled() {
    ::metrics::counter!("orders_cancelled_total").increment(1);
}

/// An unpaid order expired.
pub fn order_expired() {
    ::metrics::counter!("orders_expired_total").increment(1);
}

/// A paid order completed.
pub fn order_completed() {
    ::metrics::counter!("orders_completed_total").increment(1);
}
