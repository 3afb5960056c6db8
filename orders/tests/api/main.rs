//! The orders service against a real MongoDB-compatible server and a real NATS JetStream: its
//! HTTP API, its listeners fed by real published events, its replicas sharing the work, and its
//! outbox across a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancel;
mod config;
mod create;
mod expiration_complete;
mod helpers;
mod http_stack;
mod list;
mod openapi;
mod outbox;
mod payment_created;
mod replicas;
mod show;
mod ticket_created;
mod ticket_updated;
