//! Building and running the orders application: the HTTP server, the outbox relay and the
//! four listeners.

use anyhow::Context;
use axum::extract::FromRef;
use common::background::Background;
use common::bus::Bus;
use common::health::Readiness;
use common::outbox::Outbox;
use common::server::Server;
use common::session::Sessions;

use crate::config::Config;
use crate::events::{
    ExpirationCompleteListener, PaymentCreatedListener, TicketCreatedListener,
    TicketUpdatedListener,
};
use crate::models::{OrderRules, Orders, Tickets};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The orders collection (with the ticket replica and the outbox).
    pub orders: Orders,
    /// Reads session cookies.
    pub sessions: Sessions,
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        state.sessions.clone()
    }
}

/// Connects to the database and the bus, ensures the indexes, binds the listener, then
/// starts the outbox relay and the four listeners.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let database = common::mongo::connect(&config.mongo_uri, "orders").await?;
    let outbox = Outbox::new(&database);
    let tickets = Tickets::new(&database);
    let orders = Orders::new(
        &database,
        tickets.clone(),
        outbox.clone(),
        OrderRules {
            expiration_window: config.expiration_window,
            max_unpaid: config.max_unpaid_orders,
        },
    );
    orders
        .ensure_indexes()
        .await
        .context("creating the orders indexes (is MongoDB reachable at MONGO_URI?)")?;
    let bus = Bus::connect_with(&config.bus)
        .await
        .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
    let mut background = Background::new();
    let (sessions, _) = common::revocation::sessions(&bus, &config.sessions, &mut background)
        .await
        .context("reading the revocations bucket")?;
    let state = AppState {
        orders: orders.clone(),
        sessions,
    };
    let app = common::server::app(
        crate::routes::router().with_state(state),
        Readiness::new().with_mongo(database).with_bus(bus.clone()),
    );

    let options = &config.listener;
    background
        .relay(outbox, bus.clone())
        .listen(&bus, TicketCreatedListener::new(tickets.clone()), options)
        .listen(&bus, TicketUpdatedListener::new(tickets), options)
        .listen(
            &bus,
            ExpirationCompleteListener::new(orders.clone()),
            options,
        )
        .listen(&bus, PaymentCreatedListener::new(orders), options);
    Ok(Server::bind(&config.listen, app)
        .await?
        .with_background(background))
}
