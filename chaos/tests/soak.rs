//! The soak: users buying and selling at random while replicas are SIGKILLed and restarted and
//! NATS is restarted; afterwards every invariant across the databases, the bus and Stripe.
//!
//! Short by default (part of `cargo test`); `cargo xtask chaos` runs the full one with
//! `CHAOS_USERS=500 CHAOS_SECONDS=90`. `CHAOS_SEED` replays a run's random choices.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chaos::soak::{self, SoakOptions};
use chaos::{Fleet, FleetOptions, settle};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_doubled_or_left_inconsistent_under_kills_and_nats_restarts() {
    let started = Instant::now();
    let seconds = setting("CHAOS_SECONDS", 20);
    let options = SoakOptions {
        users: usize::try_from(setting("CHAOS_USERS", 60)).unwrap_or(60),
        duration: Duration::from_secs(seconds),
        kill_every: Duration::from_millis(setting("CHAOS_KILL_EVERY_MS", 3_000)),
        nats_restarts: usize::try_from(setting("CHAOS_NATS_RESTARTS", 1)).unwrap_or(1),
        seed: setting("CHAOS_SEED", 1),
    };
    let window = Duration::from_secs(8);
    let fleet = Fleet::start(
        FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "soak")
            .with_window(window)
            // Two, as in the cluster: a kill of the only one would drop every sign-up queued
            // for its hashing threads (hundreds at the start of a full run) at once.
            .with_replicas("auth", 2),
    )
    .await
    .unwrap();
    let report = soak::run(&fleet, &options).await.unwrap();
    let acted = started.elapsed();
    let snapshot = settle(&fleet, window + Duration::from_secs(90))
        .await
        .unwrap();
    let mut violations = snapshot.violations();
    for order in &report.cancelled_orders {
        let status = snapshot
            .orders
            .iter()
            .find(|o| &o.id == order)
            .map(|o| o.status.as_str());
        if status != Some("cancelled") {
            violations.push(format!(
                "order {order} was cancelled (204) but ends {status:?}"
            ));
        }
    }
    violations.extend(
        report
            .bad_answers
            .iter()
            .map(|answer| format!("bad answer: {answer}")),
    );
    let kept = snapshot.ledger.kept_charges().len();
    let refunded = snapshot.ledger.refunds.len();
    let complete = snapshot
        .orders
        .iter()
        .filter(|o| o.status == "complete")
        .count();
    println!(
        "soak: {} users, {} requests answered {:?}, by action and status {:?}; {} answers lost to kills, {} unreachable; \
         {} kills, {} NATS restarts; {} tickets, {} orders ({} complete), {} payments answered 201, \
         {} charges kept, {} refunded; {} checks, {} violations; acted {:.0?}, settled after {:.0?} (seed {})",
        report.users,
        report.answered(),
        report.statuses,
        report.outcomes,
        report.lost,
        report.unreachable,
        report.kills,
        report.nats_restarts,
        snapshot.tickets.len(),
        snapshot.orders.len(),
        complete,
        report.paid,
        kept,
        refunded,
        snapshot.checks(),
        violations.len(),
        acted,
        started.elapsed(),
        options.seed,
    );
    assert!(
        violations.is_empty(),
        "{} violations (logs: {}):\n{}",
        violations.len(),
        fleet.log().display(),
        violations.join("\n")
    );
    assert!(snapshot.is_quiet(), "the fleet never settled");
    assert_eq!(report.unreachable, 0, "a service stayed down");
    assert!(report.kills > 0 && report.nats_restarts > 0);
    assert!(
        complete > 0 && snapshot.orders.len() > complete,
        "the soak bought and let expire"
    );
}
