//! What the payments service hears on the bus: orders created and cancelled (the replica).
//!
//! What it says (`payment:created`) is recorded in the outbox in the same transaction as the
//! payment ([`crate::models::Payments::record`]) and published by the relay.

mod order_cancelled;
mod order_created;

pub use order_cancelled::OrderCancelledListener;
pub use order_created::OrderCreatedListener;

/// The durable consumers every replica of this service shares.
pub const QUEUE_GROUP: &str = "payments-service";
