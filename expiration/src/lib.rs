//! The expiration service: it ends orders that were not paid in time.
//!
//! Listening to `order:created` (queue group `expiration-service`), it stores a delayed job in
//! Redis, due at the order's `expiresAt` (as the original, with docs/decisions.md #17). When the job fires it
//! publishes `expiration:complete {orderId}`; the orders service then cancels the order, or
//! ignores the event if the order was paid or cancelled meanwhile (docs/decisions.md #9). It has no API, only
//! `/healthz` and `/readyz` on its own small HTTP port.
//!
//! What makes it lose nothing and repeat nothing:
//! - the job lives in Redis (apalis + apalis-redis), not in the process, so a job scheduled
//!   before a crash or restart still fires afterwards, on whichever replica polls first;
//! - the `order:created` message is acknowledged only once its job is stored, and the job is
//!   stored under an idempotency key per order, so a redelivered or duplicated `order:created`
//!   never makes a second job;
//! - the job succeeds only when JetStream has acknowledged `expiration:complete`, published
//!   with message id `expiration:<orderId>`, so a publish repeated after a crash is dropped by
//!   the server as a duplicate, and a NATS outage only delays the event.
//!
//! Layout: [`config`] (environment), [`startup`] (the application and its background work),
//! [`events`] (the `order:created` listener), [`jobs`] (the job, scheduling it, and the worker
//! that fires it), [`metrics`] (how late expiries go out).

pub mod config;
pub mod events;
pub mod jobs;
pub mod metrics;
pub mod startup;

pub use config::Config;
pub use startup::build;

/// The service's program, as its binary runs it: see [`common::server::run_service`].
pub fn main() -> anyhow::Result<()> {
    common::server::run_service(Config::from_env, build)
}
