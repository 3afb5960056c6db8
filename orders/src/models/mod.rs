//! What the orders service stores: orders, and its replica of the tickets they are for.

pub mod order;
pub mod orders;
pub mod reservation;
pub mod ticket;
pub mod tickets;

pub use order::{Order, OrderDocument, OrderTicket};
pub use orders::{Orders, StatusChange};
pub use reservation::CreateOrderError;
pub use ticket::TicketDocument;
pub use tickets::Tickets;
