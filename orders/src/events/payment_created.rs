//! `payment:created`: an order is paid.

use common::bus::listener::{Listener, Outcome, event_id};
use common::events::PaymentCreated;

use crate::events::QUEUE_GROUP;
use crate::models::{Orders, StatusChange};

/// Completes the order (version + 1, no event, the ticket stays held: it is sold). Already
/// complete is a duplicate. A cancelled order stays cancelled and the event is acked; refunding
/// that payment is the payments service's part (docs/decisions.md #11). An unknown order is an
/// error: the event is redelivered, and parked if it never applies.
pub struct PaymentCreatedListener {
    orders: Orders,
}

impl PaymentCreatedListener {
    /// Completes orders in `orders`.
    pub fn new(orders: Orders) -> Self {
        PaymentCreatedListener { orders }
    }
}

impl Listener for PaymentCreatedListener {
    type Event = PaymentCreated;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: PaymentCreated) -> anyhow::Result<Outcome> {
        let id = event_id("order", &event.order_id)?;
        match self.orders.complete(id).await? {
            StatusChange::NotFound => anyhow::bail!("order {id} not found"),
            StatusChange::Refused(_) => {
                tracing::warn!(order = %id, payment = %event.id, "payment for a cancelled order");
                Ok(Outcome::Done)
            }
            StatusChange::Changed(_) => {
                crate::metrics::order_completed();
                Ok(Outcome::Done)
            }
            StatusChange::Unchanged(_) => Ok(Outcome::Done),
        }
    }
}
