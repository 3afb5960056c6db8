//! A job fires when its order expires: never before `expiresAt`, and soon after it.

use std::time::Duration;

use chrono::Utc;
use common::events::ExpirationComplete;
use common::testing::events::eventually;

use crate::helpers::{Backing, after, assert_added, order_created};

/// How late an event may arrive in a test. The service aims at under a second (the worker
/// polls every second and waits out the fraction); slow CI machines get some slack.
const LATENESS_BOUND_MS: i64 = 2_000;

#[tokio::test]
async fn each_order_expires_at_its_expires_at_not_before() {
    let backing = Backing::new().await;
    backing.spawn_app().await;
    let watch = backing.watch().await;
    let now = Utc::now();
    // Different fractions of a second: the job is due at the whole second, the event is not.
    let orders = [1_200, 1_550, 1_950, 2_700].map(|millis| order_created(after(now, millis)));
    for order in &orders {
        backing.publish(order).await;
    }

    let seen = watch.wait_for(orders.len(), Duration::from_secs(10)).await;
    for order in &orders {
        let sighting = seen
            .iter()
            .find(|sighting| sighting.event.order_id == order.id)
            .expect("every order expired");
        let late_ms = (sighting.arrived - order.expires_at).num_milliseconds();
        assert!(
            late_ms >= 0,
            "order {} expired {late_ms} ms early",
            order.id
        );
        assert!(
            late_ms <= LATENESS_BOUND_MS,
            "order {} expired {late_ms} ms late",
            order.id
        );
        assert_eq!(
            sighting.message_id.as_deref(),
            Some(format!("expiration:{}", order.id).as_str())
        );
    }
}

#[tokio::test]
async fn publishes_expiration_complete_with_the_order_id() {
    let backing = Backing::new().await;
    let app = backing.spawn_test_app().await;
    let before = app.metrics().await;
    let order = order_created(after(Utc::now(), 500));
    backing.publish(&order).await;
    let events = backing
        .wait_for_expirations(1, Duration::from_secs(10))
        .await;
    assert_eq!(events, [ExpirationComplete { order_id: order.id }]);
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, 1);
    // Its lateness is in the histogram, once (recorded a moment after the stream has it).
    let family = "expiration_lateness_seconds_count";
    eventually("the lateness is recorded", || async {
        crate::helpers::added(&before, &app.metrics().await, family, &[]) >= 1.0
    })
    .await;
    let after = app.metrics().await;
    assert_added(&before, &after, family, &[], 1.0);
    // In time: within the buckets up to 2.5 s.
    let in_time = [r#"le="2.5""#];
    assert_added(
        &before,
        &after,
        "expiration_lateness_seconds_bucket",
        &in_time,
        1.0,
    );
}

#[tokio::test]
async fn an_order_already_past_its_expiry_expires_at_once() {
    let backing = Backing::new().await;
    backing.spawn_app().await;
    let watch = backing.watch().await;
    let order = order_created(after(Utc::now(), -60_000));
    let published_at = Utc::now();
    backing.publish(&order).await;
    let seen = watch.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(seen[0].event.order_id, order.id);
    let took_ms = (seen[0].arrived - published_at).num_milliseconds();
    assert!(took_ms <= LATENESS_BOUND_MS, "took {took_ms} ms");
}

#[tokio::test]
async fn an_order_far_in_the_future_waits() {
    let backing = Backing::new().await;
    let app = backing.spawn_test_app().await;
    let before = app.metrics().await;
    let order = order_created(after(Utc::now(), 15 * 60 * 1000));
    backing.publish(&order).await;
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(backing.expirations().await.is_empty());
    let family = "expiration_lateness_seconds_count";
    assert_added(&before, &app.metrics().await, family, &[], 0.0);
}
