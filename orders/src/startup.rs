//! Building and running the orders application: the HTTP server, the outbox relay and the
//! four listeners.

use anyhow::Context;
use common::outbox::Outbox;
use common::server::{Server, Shared};

use crate::config::Config;
use crate::events::{
    ExpirationCompleteListener, PaymentCreatedListener, TicketCreatedListener,
    TicketUpdatedListener,
};
use crate::models::{OrderRules, Orders, Tickets};
use crate::state::Parts;

/// Connects to the database and the bus, ensures the indexes, starts the outbox relay and the
/// four listeners, and binds the port.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let mut connections = config.service.connect("orders").await?;
    let outbox = Outbox::new(&connections.database);
    let tickets = Tickets::new(&connections.database);
    let rules = OrderRules {
        expiration_window: config.expiration_window,
        max_unpaid: config.max_unpaid_orders,
    };
    let orders = Orders::new(
        &connections.database,
        tickets.clone(),
        outbox.clone(),
        rules,
    );
    orders
        .ensure_indexes()
        .await
        .context("creating the orders indexes (is MongoDB reachable at MONGO_URI?)")?;

    let (bus, options) = (&connections.bus, &config.listener);
    connections
        .background
        .relay(outbox, bus.clone())
        .listen(bus, TicketCreatedListener::new(tickets.clone()), options)
        .listen(bus, TicketUpdatedListener::new(tickets), options)
        .listen(
            bus,
            ExpirationCompleteListener::new(orders.clone()),
            options,
        )
        .listen(bus, PaymentCreatedListener::new(orders.clone()), options);

    let state = Shared::new(Parts {
        orders,
        sessions: connections.sessions.clone(),
    });
    let routes = crate::routes::router().with_state(state);
    let app = common::server::app(routes, connections.readiness());
    Ok(connections.bind(app).await?)
}
