//! The bus and the outbox against a real NATS JetStream and a real MongoDB-compatible server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod helpers;
mod listener;
mod mongo_users;
mod outbox;
mod replica;
mod revocations;
mod streams;
mod traces;
