//! Building and running the tickets application: the HTTP server, the outbox relay and the
//! two listeners.

use anyhow::Context;
use axum::extract::FromRef;
use common::background::Background;
use common::bus::Bus;
use common::bus::listener::ListenerOptions;
use common::health::Readiness;
use common::outbox::Outbox;
use common::server::Server;
use common::session::Sessions;

use crate::config::Config;
use crate::events::{OrderCancelledListener, OrderCreatedListener};
use crate::models::Tickets;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The tickets collection (and its outbox).
    pub tickets: Tickets,
    /// Reads session cookies.
    pub sessions: Sessions,
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        state.sessions.clone()
    }
}

/// Connects to the database and the bus, binds the listener, then starts the outbox relay
/// and the `order:created` / `order:cancelled` listeners.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let database = common::mongo::connect(&config.mongo_uri, "tickets").await?;
    let bus = Bus::connect_with(&config.bus)
        .await
        .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
    let mut background = Background::new();
    let (sessions, _) = common::revocation::sessions(&bus, &config.sessions, &mut background)
        .await
        .context("reading the revocations bucket")?;
    let outbox = Outbox::new(&database);
    let tickets = Tickets::new(&database, outbox.clone());
    tickets
        .ensure_indexes()
        .await
        .context("creating the tickets indexes (is MongoDB reachable at MONGO_URI?)")?;
    let state = AppState {
        tickets: tickets.clone(),
        sessions,
    };
    let app = common::server::app(
        crate::routes::router().with_state(state),
        Readiness::new().with_mongo(database).with_bus(bus.clone()),
    );

    let options = ListenerOptions::default();
    background
        .relay(outbox, bus.clone())
        .listen(&bus, OrderCreatedListener::new(tickets.clone()), &options)
        .listen(&bus, OrderCancelledListener::new(tickets), &options);
    Ok(Server::bind(&config.listen, app)
        .await?
        .with_background(background))
}
