//! `order:created`: schedule the order's expiration.

use common::bus::listener::{Listener, Outcome};
use common::events::OrderCreated;

use crate::events::QUEUE_GROUP;
use crate::jobs::{ExpirationQueue, ExpireOrder};

/// Stores a job due at the order's `expiresAt`; the event is acknowledged only once Redis has
/// it. If Redis is down the event is redelivered until it is back. A redelivered event finds
/// the job already stored and changes nothing.
#[derive(Debug)]
pub struct OrderCreatedListener {
    queue: ExpirationQueue,
}

impl OrderCreatedListener {
    /// Schedules expirations in `queue`.
    pub fn new(queue: ExpirationQueue) -> Self {
        OrderCreatedListener { queue }
    }
}

impl Listener for OrderCreatedListener {
    type Event = OrderCreated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: OrderCreated) -> anyhow::Result<Outcome> {
        self.queue
            .schedule(ExpireOrder {
                order_id: event.id,
                expires_at: event.expires_at,
            })
            .await?;
        Ok(Outcome::Done)
    }
}
