//! `order:cancelled`: the ticket that order held is free again.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::OrderCancelled;

use crate::events::QUEUE_GROUP;
use crate::models::Tickets;

/// Removes the ticket's `orderId` (version + 1) and records `ticket:updated` without it, but
/// only when the cancelled order is the one holding the ticket (docs/decisions.md #9); otherwise
/// the event is acked with no change.
pub struct OrderCancelledListener {
    tickets: Tickets,
}

impl OrderCancelledListener {
    /// Releases tickets in `tickets`.
    pub fn new(tickets: Tickets) -> Self {
        OrderCancelledListener { tickets }
    }
}

impl Listener for OrderCancelledListener {
    type Event = OrderCancelled;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: OrderCancelled) -> anyhow::Result<Outcome> {
        let ticket_id = event_id("ticket", &event.ticket.id)?;
        self.tickets
            .release(ticket_id, &event.id)
            .await
            .with_context(|| format!("releasing ticket {ticket_id} from order {}", event.id))?;
        Ok(Outcome::Done)
    }
}
