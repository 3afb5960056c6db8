//! Redis going away loses no job: jobs stored before it left fire once it is back, and an
//! `order:created` arriving meanwhile is retried until its job can be stored.
//!
//! This test runs its own Redis with the append-only log the local stack and the cluster use,
//! stops it, and starts it again on the same port and files.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use common::testing::{TempDir, stop_gracefully};
use devservers::{Durability, ServerProcess};

use crate::helpers::{Backing, after, order_created, sleep_until};

fn start_redis(dir: &Path, port: u16) -> ServerProcess {
    let program = devservers::find_program("redis-server").expect("redis-server is installed");
    devservers::redis::start(
        &program,
        dir,
        port,
        Durability::Persistent,
        devservers::process::discard(),
    )
    .unwrap()
}

#[tokio::test]
async fn jobs_survive_a_redis_restart_and_orders_wait_for_redis() {
    let files = TempDir::new("expiration-redis-outage");
    let redis = start_redis(&files.0, 0);
    let port = redis.port();
    let mut backing = Backing::new().await;
    backing.redis_url = format!("redis://127.0.0.1:{port}");
    let address = backing.spawn_app().await;
    let before = order_created(after(Utc::now(), 2_000));
    backing.publish(&before).await;
    backing.settled().await;
    assert_eq!(backing.jobs_stored().await, 1);

    stop_gracefully(redis).await;
    let during = order_created(after(Utc::now(), 500));
    backing.publish(&during).await;
    sleep_until(after(before.expires_at, 1_000)).await;
    assert!(backing.expirations().await.is_empty());
    let ready = reqwest::get(format!("{address}/readyz")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    let redis = start_redis(&files.0, port);
    let events = backing
        .wait_for_expirations(2, Duration::from_secs(30))
        .await;
    let mut expired: Vec<_> = events.into_iter().map(|event| event.order_id).collect();
    expired.sort();
    let mut ordered = vec![before.id, during.id];
    ordered.sort();
    assert_eq!(expired, ordered);
    common::testing::http::assert_probes_answer(&address).await;
    stop_gracefully(redis).await;
}
