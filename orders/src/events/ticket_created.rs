//! `ticket:created`: a new ticket enters the replica.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::TicketCreated;

use crate::events::QUEUE_GROUP;
use crate::models::Tickets;

/// Stores the ticket at the event's version (docs/decisions.md #13); a redelivered event finds it
/// there and is acked.
pub struct TicketCreatedListener {
    tickets: Tickets,
}

impl TicketCreatedListener {
    /// Replicates into `tickets`.
    pub fn new(tickets: Tickets) -> Self {
        TicketCreatedListener { tickets }
    }
}

impl Listener for TicketCreatedListener {
    type Event = TicketCreated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: TicketCreated) -> anyhow::Result<Outcome> {
        let id = event_id("ticket", &event.id)?;
        self.tickets
            .create_from_event(id, &event)
            .await
            .with_context(|| format!("replicating ticket {id}"))
    }
}
