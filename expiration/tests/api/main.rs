//! The expiration service against a real NATS JetStream and a real Redis: jobs scheduled from
//! published `order:created` events fire on time, once, across restarts, replicas, duplicate
//! deliveries and a NATS outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod expiry;
mod helpers;
mod nats_outage;
mod probes;
mod redis_outage;
mod replicas;
mod restart;
