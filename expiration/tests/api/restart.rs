//! A job outlives the replica that scheduled it: it fires once a new replica runs.

use std::time::Duration;

use chrono::Utc;
use common::events::ExpirationComplete;

use crate::helpers::{Backing, Replica, after, order_created, sleep_until};

/// Schedules an order expiring in 3 s on a replica, ends the replica with `end`, waits past
/// the expiry, then starts a new replica and expects the event.
async fn fires_after_a_restart(end: impl AsyncFnOnce(Replica)) {
    let backing = Backing::new().await;
    let first = backing.start().await;
    let order = order_created(after(Utc::now(), 3_000));
    backing.publish(&order).await;
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, 1);

    end(first).await;
    sleep_until(after(order.expires_at, 1_500)).await;
    assert!(
        backing.expirations().await.is_empty(),
        "nothing runs while no replica does"
    );

    let watch = backing.watch().await;
    let _second = backing.start().await;
    let events = backing
        .wait_for_expirations(1, Duration::from_secs(10))
        .await;
    assert_eq!(events, [ExpirationComplete { order_id: order.id }]);
    assert_eq!(watch.wait_for(1, Duration::from_secs(1)).await.len(), 1);
}

#[tokio::test]
async fn a_job_scheduled_before_a_graceful_stop_fires_after_a_restart() {
    fires_after_a_restart(async |replica: Replica| replica.stop().await).await;
}

#[tokio::test]
async fn a_job_scheduled_before_the_replica_is_killed_fires_after_a_restart() {
    fires_after_a_restart(async |replica: Replica| replica.kill().await).await;
}
