//! `order:created`: the ordered ticket becomes reserved.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::OrderCreated;

use crate::events::QUEUE_GROUP;
use crate::models::{ChangeError, HeldBy, Tickets};

/// Sets the ticket's `orderId` (version + 1) and records `ticket:updated` with it. While
/// another order holds the ticket, the event waits (redelivered) for one of the two orders'
/// cancellations.
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
        let ticket_id = event_id("ticket", &event.ticket.id)?;
        match self.tickets.reserve(ticket_id, &event.id).await {
            Ok(_) => Ok(Outcome::Done),
            // One of the two orders was cancelled: wait for that cancellation to say which.
            Err(ChangeError::Refused(HeldBy(holder))) => {
                tracing::debug!(ticket = %ticket_id, order = %event.id, %holder, "ticket held by another order; waiting for a cancellation");
                Ok(Outcome::NotYet)
            }
            Err(error) => Err(anyhow::Error::from(error))
                .with_context(|| format!("reserving ticket {ticket_id} for order {}", event.id)),
        }
    }
}
