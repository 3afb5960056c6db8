//! What the expiration service hears on the bus: new orders, each to be expired in time.
//!
//! What it says (`expiration:complete`) is published by the job worker, see
//! [`crate::jobs::worker`].

mod order_created;

pub use order_created::OrderCreatedListener;

/// The durable consumer every replica of this service shares.
pub const QUEUE_GROUP: &str = "expiration-service";
