//! The tickets service: it owns tickets and reserves them when orders say so.
//!
//! `POST /api/tickets`, `GET /api/tickets`, `GET /api/tickets/:id` and `PUT /api/tickets/:id`
//! (as the original, with docs/decisions.md #6). Tickets live in the `tickets` collection of the tickets database,
//! versioned: every change bumps `version` by one through a write conditional on the previous
//! version, so a stale write fails instead of overwriting. Every change is one write of one
//! ticket, which also records the `ticket:created` / `ticket:updated` event it implies in the
//! ticket's own outbox array; a relay then publishes it ([`common::outbox`]). Listening to
//! `order:created` and `order:cancelled` (queue group `tickets-service`), it reserves and
//! releases tickets.
//!
//! Layout: [`config`] (environment), [`startup`] (the application and its background work),
//! [`state`] (what the handlers reach), [`routes`] (one file per endpoint), [`models`] (tickets and
//! their versioned changes), [`events`] (the two listeners).

pub mod config;
pub mod events;
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
