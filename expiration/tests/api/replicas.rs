//! Replicas share the work, and duplicates change nothing: one job and one event per order.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;

use crate::helpers::{Backing, after, order_created};

#[tokio::test]
async fn two_replicas_make_one_job_and_one_event_per_order() {
    let backing = Backing::new().await;
    backing.spawn_app().await;
    backing.spawn_app().await;
    let watch = backing.watch().await;
    let now = Utc::now();
    let orders: Vec<_> = (0..8)
        .map(|n| order_created(after(now, 1_000 + 150 * n)))
        .collect();
    for order in &orders {
        backing.publish(order).await;
    }
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, orders.len());

    let events = backing
        .wait_for_expirations(orders.len(), Duration::from_secs(10))
        .await;
    // Time for a second job or publish to show, if there were one.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let events_after = backing.expirations().await;
    assert_eq!(events_after.len(), orders.len(), "{events_after:?}");
    let expired: HashSet<_> = events.iter().map(|event| event.order_id.clone()).collect();
    let ordered: HashSet<_> = orders.iter().map(|order| order.id.clone()).collect();
    assert_eq!(expired, ordered);
    // Each job ran once: the wire saw one publish per order, not duplicates the stream dropped.
    assert_eq!(watch.seen().len(), orders.len());
}

#[tokio::test]
async fn a_duplicated_order_created_makes_one_job_and_one_event() {
    let backing = Backing::new().await;
    backing.spawn_app().await;
    let watch = backing.watch().await;
    let order = order_created(after(Utc::now(), 1_000));
    // Two message ids: the stream keeps both, as after a publisher's retry.
    backing.publish(&order).await;
    backing.publish(&order).await;
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, 1);

    backing
        .wait_for_expirations(1, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(backing.expirations().await.len(), 1);
    assert_eq!(watch.seen().len(), 1);
}
