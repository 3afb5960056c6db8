//! Building and running the expiration service: the `order:created` listener, the job worker,
//! and the probes.

use anyhow::Context;
use axum::Router;
use common::background::Background;
use common::bus::Bus;
use common::health::Readiness;
use common::server::Server;

use crate::config::Config;
use crate::events::OrderCreatedListener;
use crate::jobs::{self, ExpirationQueue, worker};

/// Connects to the bus and Redis, binds the probe port, then starts the listener and the
/// worker. Stopping the server stops both: the worker finishes the jobs it is running.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let bus = Bus::connect_with(&config.bus)
        .await
        .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
    jobs::refuse_rejected_password(&config.redis_url).await?;
    let redis = jobs::connect(&config.redis_url)?;
    let queue = ExpirationQueue::new(redis.clone(), &config.queue);

    let readiness = Readiness::new()
        .with_bus(bus.clone())
        .with("redis", move || jobs::ping(redis.clone()));
    let app = common::server::app(Router::new(), readiness);

    let name = worker::worker_name(&config.bus.client_id);
    let mut background = Background::new();
    background
        .listen(
            &bus,
            OrderCreatedListener::new(queue.clone()),
            &config.listener,
        )
        .spawn(|shutdown| worker::run(queue, bus, name, shutdown));
    Ok(Server::bind(&config.listen, app)
        .await?
        .with_background(background))
}
