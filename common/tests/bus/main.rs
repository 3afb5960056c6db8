//! The bus and the outbox against a real NATS JetStream and a real MongoDB-compatible server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod listener;
mod outbox;
mod streams;
