//! What the orders service stores: orders, its replica of the tickets they are for, and a
//! document per buyer that serialises their order creations.

pub mod buyers;
pub mod order;
pub mod orders;
pub mod reservation;
pub mod ticket;
pub mod tickets;

pub use order::{Order, OrderDocument, OrderTicket};
pub use orders::{OrderRules, Orders, StatusChange};
pub use reservation::CreateOrderError;
pub use ticket::TicketDocument;
pub use tickets::Tickets;
