//! The payments service against a real MongoDB-compatible server and a real NATS JetStream,
//! with Stripe faked at the edge (the workspace's Stripe stand-in, or wiremock where a test
//! dictates Stripe's answers): its HTTP API, its listeners fed by real published events, the
//! pay-versus-cancel race, crashes the reconciler recovers from, its outbox, and PaymentIntents
//! with the signed webhooks that settle them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod create;
mod double_pay;
mod helpers;
mod http_stack;
mod intents;
mod openapi;
mod order_cancelled;
mod order_created;
mod outbox;
mod race;
mod rate_limits;
mod reconciler;
mod replicas;
mod stripe_calls;
mod webhook;
