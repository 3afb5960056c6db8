//! The orders service: it owns orders and keeps a replica of the tickets they are for.
//!
//! `GET /api/orders`, `POST /api/orders`, `GET /api/orders/:orderId` and
//! `DELETE /api/orders/:orderId` (as the original, with docs/decisions.md #1, #7, #8, #9, #13). Orders live in the
//! `orders` collection of the orders database, versioned like the original's
//! mongoose-update-if-current: every change bumps `version` by one through a write conditional
//! on the previous version. The `tickets` collection is a replica fed by `ticket:created` and
//! `ticket:updated` under the version rules (docs/decisions.md #12); it also records which order holds each
//! ticket, claimed atomically, so at most one active order exists per ticket. Every change and
//! the event it implies (`order:created`, `order:cancelled`) are written in one transaction
//! (the outbox) and published by a relay. Listening to `expiration:complete` and
//! `payment:created` (queue group `orders-service`), it cancels and completes orders.
//!
//! Layout: [`config`] (environment), [`startup`] (the application and its background work),
//! [`state`] (what the handlers reach), [`routes`] (one file per endpoint), [`models`] (orders and
//! the ticket replica), [`events`] (the four listeners), [`metrics`] (what became of orders).

pub mod config;
pub mod events;
pub mod metrics;
pub mod models;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::build;

/// The service's program, as its binary runs it: see [`common::server::run_service`].
pub fn main() -> anyhow::Result<()> {
    common::server::run_service(Config::from_env, build)
}
