//! The soak: users buying and selling at random while replicas are SIGKILLed and restarted and
//! NATS is restarted; afterwards every invariant across the databases, the bus and Stripe.
//!
//! Short by default (part of `cargo test`); `cargo xtask chaos` runs the full one with
//! `CHAOS_USERS=500 CHAOS_SECONDS=90`. `CHAOS_SEED` replays a run's random choices.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaos::FleetOptions;
use chaos::soak::{self, SoakOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_doubled_or_left_inconsistent_under_kills_and_nats_restarts() {
    let fleet = FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "soak");
    let soaked = soak::run_and_check(fleet, &SoakOptions::from_env(1))
        .await
        .unwrap();
    println!("{}", soaked.figures);
}
