//! `order:cancelled`: an order can no longer be paid, and a payment kept for it is refunded.

use anyhow::Context;
use common::bus::listener::{Listener, Outcome, event_id};
use common::events::OrderCancelled;

use crate::checkout::Checkout;
use crate::events::QUEUE_GROUP;
use crate::models::{Cancellation, Orders};

/// Cancels the replica under the version rules (docs/decisions.md #12): the next version applies,
/// an applied one is a duplicate, a later one (or one for an order not replicated yet) waits.
/// Then, whether the cancellation is new or a redelivery, a payment kept for the order is
/// refunded (docs/decisions.md #11), and its open PaymentIntent cancelled at Stripe so that
/// it can no longer be paid, before the event is acked; a Stripe failure means redelivery, and the
/// refund's idempotency key means Stripe refunds once however often it is asked.
pub struct OrderCancelledListener {
    orders: Orders,
    checkout: Checkout,
}

impl OrderCancelledListener {
    /// Cancels in `orders`, refunds through `checkout`.
    pub fn new(orders: Orders, checkout: Checkout) -> Self {
        OrderCancelledListener { orders, checkout }
    }
}

impl Listener for OrderCancelledListener {
    type Event = OrderCancelled;
    const QUEUE_GROUP: &'static str = QUEUE_GROUP;

    async fn on_message(&self, event: OrderCancelled) -> anyhow::Result<Outcome> {
        let id = event_id("order", &event.id)?;
        let cancellation = self
            .orders
            .cancel_from_event(id, event.version)
            .await
            .with_context(|| format!("cancelling order {id} at version {}", event.version))?;
        match cancellation {
            Cancellation::NotYet => Ok(Outcome::NotYet),
            Cancellation::Cancelled(order) => {
                self.checkout
                    .refund_if_cancelled(&order)
                    .await
                    .with_context(|| format!("refunding the payment of cancelled order {id}"))?;
                self.checkout
                    .cancel_open_intent(id)
                    .await
                    .with_context(|| format!("cancelling the intent of cancelled order {id}"))?;
                Ok(Outcome::Done)
            }
        }
    }
}
