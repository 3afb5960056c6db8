//! The auth service: it owns users and issues sessions.
//!
//! `POST /api/users/signup`, `POST /api/users/signin`, `POST /api/users/signout` and
//! `GET /api/users/currentuser` (as the original, with docs/decisions.md #2–#5), and admins' `POST` and
//! `DELETE /api/users/:id/ban`. Users live in the `users` collection of the auth database,
//! emails unique (trimmed, lower-cased), passwords as scrypt hashes in the original's
//! `<hex>.<salt>` format. Other services never call auth: they trust the session's JWT, unless
//! auth has revoked it (signed out, or its user banned) in the bucket every service follows
//! (`common::revocation`).
//!
//! Layout: [`config`] (environment), [`startup`] (the application), [`state`] (what the handlers
//! reach), [`routes`] (one file per endpoint), [`models`] (users), [`password`] (hashing off the
//! async runtime), [`limits`] (sign-in and sign-up rate limits), [`metrics`] (sign-ins by
//! outcome).

pub mod config;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod password;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::build;

/// The service's program, as its binary runs it: see [`common::server::run_service`].
pub fn main() -> anyhow::Result<()> {
    common::server::run_service(Config::from_env, build)
}
