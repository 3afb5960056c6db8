//! What the tickets service stores: tickets, and the versioned changes made to them.

pub mod changes;
pub mod price;
pub mod ticket;
pub mod tickets;

pub use changes::{EditRefusal, HeldBy};
pub use ticket::{Ticket, TicketDocument};
pub use tickets::{ChangeError, Changed, Decision, SaveError, Tickets};
