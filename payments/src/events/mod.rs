//! What the payments service hears on the bus: orders created and cancelled (the replica).
//!
//! What it says (`payment:created`) is recorded in the outbox in the same transaction as the
//! payment ([`crate::models::Payments::record`]) and published by the relay.

use anyhow::Context;
use mongodb::bson::oid::ObjectId;

mod order_cancelled;
mod order_created;

pub use order_cancelled::OrderCancelledListener;
pub use order_created::OrderCreatedListener;

/// The durable consumers every replica of this service shares.
pub const QUEUE_GROUP: &str = "payments-service";

/// The id an event names. A malformed one never applies: the event is retried and then
/// parked, so it is seen rather than lost.
fn object_id(text: &str) -> anyhow::Result<ObjectId> {
    ObjectId::parse_str(text).with_context(|| format!("malformed order id {text:?}"))
}
