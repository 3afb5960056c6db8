//! The payments service: it charges orders through Stripe and keeps a replica of the orders.
//!
//! `POST /api/payments` (as the original, with docs/decisions.md #10, #11): checks the order in the replica,
//! charges the card (a legacy Stripe Charge, the amount in cents, rounded, with an idempotency
//! key derived from the order and the card), records the payment (one per order) and
//! `payment:created` in one transaction (the outbox), and answers 201 `{id}`. The `orders`
//! collection is a replica fed by `order:created` and `order:cancelled` (queue group
//! `payments-service`) under the version rules (docs/decisions.md #12); it also records which payment claimed
//! each order. No money is kept without a ticket: a charge that loses the race with a
//! cancellation, or is not the order's one payment, is refunded, exactly once, and a
//! cancellation arriving after the payment refunds it (see [`checkout`]). A charge attempt is
//! recorded before Stripe is called, and the [`reconciler`] settles attempts a crash left open.
//!
//! Layout: [`config`] (environment), [`startup`] (the application and its background work),
//! [`state`] (what the handlers reach), [`routes`] (the endpoint), [`checkout`] (paying and
//! refunding), [`stripe`] (the Stripe client), [`models`] (the replica, payments and attempts),
//! [`events`] (the two listeners), [`reconciler`], [`metrics`] (payments succeeded, declined and
//! refunded).

pub mod checkout;
pub mod config;
pub mod events;
pub mod metrics;
pub mod models;
pub mod reconciler;
pub mod routes;
pub mod startup;
pub mod state;
pub mod stripe;

pub use config::Config;
pub use startup::build;

/// The service's program, as its binary runs it: see [`common::server::run_service`].
pub fn main() -> anyhow::Result<()> {
    common::server::run_service(Config::from_env, build)
}
