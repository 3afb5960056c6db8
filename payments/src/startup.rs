//! Building and running the payments application: the HTTP server, the outbox relay, the two
//! listeners and the reconciler.

use anyhow::Context;
use common::outbox::Outbox;
use common::server::{Server, Shared};

use crate::checkout::Checkout;
use crate::config::Config;
use crate::events::{OrderCancelledListener, OrderCreatedListener};
use crate::models::{Orders, Payments};
use crate::routes::limits::PaymentLimits;
use crate::state::Parts;
use crate::stripe::Stripe;

/// Connects to the database, Stripe and the bus, ensures the indexes, starts the outbox relay,
/// the two listeners, the reconciler and the pruning of the rate limits, and binds the port.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let mut connections = config.service.connect("payments").await?;
    let outbox = Outbox::new(&connections.database);
    let orders = Orders::new(&connections.database);
    let payments = Payments::new(&connections.database, orders.clone(), outbox.clone());
    payments
        .ensure_indexes()
        .await
        .context("creating the payments indexes (is MongoDB reachable at MONGO_URI?)")?;
    let stripe = Stripe::new(&config.stripe)?;
    let checkout = Checkout::new(orders.clone(), payments, stripe, config.failpoints);
    let limits = PaymentLimits::new(&config.limits);

    let (bus, options) = (&connections.bus, &config.listener);
    let (reconciled, pruned) = (checkout.clone(), limits.clone());
    connections
        .background
        .relay(outbox, bus.clone())
        .listen(bus, OrderCreatedListener::new(orders.clone()), options)
        .listen(
            bus,
            OrderCancelledListener::new(orders, checkout.clone()),
            options,
        )
        .spawn(move |stop| crate::reconciler::run(reconciled, config.reconciler, stop))
        .spawn(move |stop| common::rate_limit::prune_until_stopped(move || pruned.prune(), stop));

    let state = Shared::new(Parts {
        checkout,
        sessions: connections.sessions.clone(),
        limits,
        webhook_secret: config.stripe.webhook_secret.clone(),
    });
    let routes = crate::routes::router().with_state(state);
    let app = common::server::app(routes, connections.readiness());
    Ok(connections.bind(app).await?)
}
