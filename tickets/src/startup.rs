//! Building and running the tickets application: the HTTP server, the outbox relay and the
//! two listeners.

use anyhow::Context;
use common::outbox::Outbox;
use common::server::{Server, Shared};

use crate::config::Config;
use crate::events::{OrderCancelledListener, OrderCreatedListener};
use crate::models::Tickets;
use crate::state::Parts;

/// Connects to the database and the bus, ensures the indexes, starts the outbox relay and the
/// `order:created` / `order:cancelled` listeners, and binds the port.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let mut connections = config.service.connect("tickets").await?;
    let outbox = Outbox::new(&connections.database);
    let tickets = Tickets::new(&connections.database, outbox.clone());
    tickets
        .ensure_indexes()
        .await
        .context("creating the tickets indexes (is MongoDB reachable at MONGO_URI?)")?;

    let (bus, options) = (&connections.bus, &config.listener);
    connections
        .background
        .relay(outbox, bus.clone())
        .listen(bus, OrderCreatedListener::new(tickets.clone()), options)
        .listen(bus, OrderCancelledListener::new(tickets.clone()), options);

    let state = Shared::new(Parts {
        tickets,
        sessions: connections.sessions.clone(),
    });
    let routes = crate::routes::router().with_state(state);
    let app = common::server::app(routes, connections.readiness());
    Ok(connections.bind(app).await?)
}
