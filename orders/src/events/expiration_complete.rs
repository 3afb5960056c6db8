//! `expiration:complete`: an order's time to pay is up.

use common::bus::listener::{Listener, Outcome, event_id};
use common::events::ExpirationComplete;

use crate::events::QUEUE_GROUP;
use crate::models::{Orders, StatusChange};

/// Cancels the order exactly as `DELETE /api/orders/:id` does (ticket released,
/// `order:cancelled` recorded). An order already cancelled or complete is left alone and the
/// event acked (docs/decisions.md #9). An unknown order is an error: the event is redelivered, and
/// parked if it never applies.
pub struct ExpirationCompleteListener {
    orders: Orders,
}

impl ExpirationCompleteListener {
    /// Cancels orders in `orders`.
    pub fn new(orders: Orders) -> Self {
        ExpirationCompleteListener { orders }
    }
}

impl Listener for ExpirationCompleteListener {
    type Event = ExpirationComplete;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: ExpirationComplete) -> anyhow::Result<Outcome> {
        let id = event_id("order", &event.order_id)?;
        match self.orders.cancel(id).await? {
            StatusChange::NotFound => anyhow::bail!("order {id} not found"),
            StatusChange::Changed(_) => {
                crate::metrics::order_expired();
                Ok(Outcome::Done)
            }
            StatusChange::Unchanged(_) | StatusChange::Refused(_) => Ok(Outcome::Done),
        }
    }
}
