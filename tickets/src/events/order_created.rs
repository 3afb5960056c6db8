//! `order:created`: the ordered ticket becomes reserved.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome};
use common::events::OrderCreated;

use crate::events::{QUEUE_GROUP, ticket_id};
use crate::models::Tickets;

/// Sets the ticket's `orderId` (version + 1) and records `ticket:updated` with it.
///
/// A ticket not (yet) known is an error: the event is redelivered, and parked if it never
/// applies. A redelivered event finds the ticket already held by its order and is acked.
pub struct OrderCreatedListener {
    tickets: Tickets,
}

impl OrderCreatedListener {
    /// Reserves tickets in `tickets`.
    pub fn new(tickets: Tickets) -> Self {
        OrderCreatedListener { tickets }
    }
}

impl Listener for OrderCreatedListener {
    type Event = OrderCreated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: OrderCreated) -> anyhow::Result<Outcome> {
        let ticket_id = ticket_id(&event.ticket.id)?;
        self.tickets
            .reserve(ticket_id, &event.id)
            .await
            .with_context(|| format!("reserving ticket {ticket_id} for order {}", event.id))?;
        Ok(Outcome::Done)
    }
}
