//! `order:created`: a new order enters the replica.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::OrderCreated;

use crate::events::QUEUE_GROUP;
use crate::models::Orders;

/// Stores the order (price, owner, status, version and expiry as the event says); a
/// redelivered event finds it there and is acked.
pub struct OrderCreatedListener {
    orders: Orders,
}

impl OrderCreatedListener {
    /// Replicates into `orders`.
    pub fn new(orders: Orders) -> Self {
        OrderCreatedListener { orders }
    }
}

impl Listener for OrderCreatedListener {
    type Event = OrderCreated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: OrderCreated) -> anyhow::Result<Outcome> {
        let id = event_id("order", &event.id)?;
        self.orders
            .create_from_event(id, &event)
            .await
            .with_context(|| format!("replicating order {id}"))
    }
}
