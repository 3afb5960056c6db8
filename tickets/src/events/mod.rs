//! What the tickets service hears on the bus: orders reserving and releasing tickets.
//!
//! What it says (`ticket:created`, `ticket:updated`) is recorded by [`crate::models::Tickets`]
//! in the ticket it changes, in the same write, and published by the relay.

mod order_cancelled;
mod order_created;

pub use order_cancelled::OrderCancelledListener;
pub use order_created::OrderCreatedListener;

/// The durable consumers every replica of this service shares.
pub const QUEUE_GROUP: &str = "tickets-service";
