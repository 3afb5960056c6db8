//! Building and running the payments application: the HTTP server, the outbox relay, the two
//! listeners and the reconciler.

use anyhow::Context;
use axum::extract::FromRef;
use common::background::Background;
use common::bus::Bus;
use common::health::Readiness;
use common::outbox::Outbox;
use common::server::Server;
use common::session::Sessions;

use crate::checkout::Checkout;
use crate::config::Config;
use crate::events::{OrderCancelledListener, OrderCreatedListener};
use crate::models::{Orders, Payments};
use crate::routes::limits::PaymentLimits;
use crate::stripe::Stripe;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Pays for orders.
    pub checkout: Checkout,
    /// Reads session cookies.
    pub sessions: Sessions,
    /// Limits payment attempts per order and per user.
    pub limits: PaymentLimits,
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        state.sessions.clone()
    }
}

/// Connects to the database, Stripe and the bus, ensures the indexes, binds the listener, then
/// starts the outbox relay, the two listeners, the reconciler and the pruning of the rate limits.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let database = common::mongo::connect(&config.mongo_uri, "payments").await?;
    let outbox = Outbox::new(&database);
    let orders = Orders::new(&database);
    let payments = Payments::new(&database, orders.clone(), outbox.clone());
    payments
        .ensure_indexes()
        .await
        .context("creating the payments indexes (is MongoDB reachable at MONGO_URI?)")?;
    let stripe = Stripe::new(&config.stripe)?;
    let checkout = Checkout::new(orders.clone(), payments, stripe, config.failpoints);
    let bus = Bus::connect_with(&config.bus)
        .await
        .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
    let mut background = Background::new();
    let (sessions, _) = common::revocation::sessions(&bus, &config.sessions, &mut background)
        .await
        .context("reading the revocations bucket")?;
    let state = AppState {
        checkout: checkout.clone(),
        sessions,
        limits: PaymentLimits::new(&config.limits),
    };
    let limits = state.limits.clone();
    let app = common::server::app(
        crate::routes::router().with_state(state),
        Readiness::new().with_mongo(database).with_bus(bus.clone()),
    );

    let options = &config.listener;
    let reconciler = config.reconciler;
    background
        .relay(outbox, bus.clone())
        .listen(&bus, OrderCreatedListener::new(orders.clone()), options)
        .listen(
            &bus,
            OrderCancelledListener::new(orders, checkout.clone()),
            options,
        )
        .spawn(move |stop| crate::reconciler::run(checkout, reconciler, stop))
        .spawn(move |stop| common::rate_limit::prune_until_stopped(move || limits.prune(), stop));
    Ok(Server::bind(&config.listen, app)
        .await?
        .with_background(background))
}
