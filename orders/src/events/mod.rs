//! What the orders service hears on the bus: tickets created and updated (the replica),
//! orders expiring, and orders paid.
//!
//! What it says (`order:created`, `order:cancelled`) is recorded by [`crate::models::Orders`]
//! in the outbox, in the same transaction as the change, and published by the relay.

mod expiration_complete;
mod payment_created;
mod ticket_created;
mod ticket_updated;

pub use expiration_complete::ExpirationCompleteListener;
pub use payment_created::PaymentCreatedListener;
pub use ticket_created::TicketCreatedListener;
pub use ticket_updated::TicketUpdatedListener;

/// The durable consumers every replica of this service shares.
pub const QUEUE_GROUP: &str = "orders-service";
