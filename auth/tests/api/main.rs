//! The auth service's HTTP API against a real MongoDB-compatible server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod current_user;
mod helpers;
mod http_stack;
mod openapi;
mod rate_limits;
mod revocation;
mod sign_in;
mod sign_out;
mod sign_up;
