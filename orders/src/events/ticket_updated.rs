//! `ticket:updated`: a ticket's title and price change in the replica.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::TicketUpdated;

use crate::events::QUEUE_GROUP;
use crate::models::Tickets;

/// Applies the next version, acks an already applied one, and leaves one that skips a version
/// (or whose ticket is not replicated yet) for later (docs/decisions.md #12). The event's `orderId`
/// is ignored: which order holds a ticket is this service's own record.
pub struct TicketUpdatedListener {
    tickets: Tickets,
}

impl TicketUpdatedListener {
    /// Replicates into `tickets`.
    pub fn new(tickets: Tickets) -> Self {
        TicketUpdatedListener { tickets }
    }
}

impl Listener for TicketUpdatedListener {
    type Event = TicketUpdated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: TicketUpdated) -> anyhow::Result<Outcome> {
        let id = event_id("ticket", &event.id)?;
        self.tickets
            .update_from_event(id, &event)
            .await
            .with_context(|| format!("updating ticket {id} to version {}", event.version))
    }
}
