//! The tickets service against a real MongoDB-compatible server and a real NATS JetStream:
//! its HTTP API, its listeners fed by real published events, its model's versioning, and its
//! outbox across a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancellations_kept;
mod config;
mod create;
mod helpers;
mod http_stack;
mod list;
mod openapi;
mod order_cancelled;
mod order_created;
mod outbox;
mod replicas;
mod show;
mod ticket_model;
mod update;
