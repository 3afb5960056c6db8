//! NATS going away when a job fires delays `expiration:complete`; it does not lose it.
//!
//! This test runs its own NATS server (the shared one must stay up for the other tests), stops
//! it before the order expires, and starts it again on the same port and store afterwards.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use common::bus::{BusSettings, Namespace};
use common::events::ExpirationComplete;
use common::testing::{TempDir, stop_gracefully};
use devservers::ServerProcess;

use crate::helpers::{Backing, after, order_created, sleep_until};

fn start_nats(store: &Path, port: u16) -> ServerProcess {
    let program = devservers::find_program("nats-server").expect("nats-server is installed");
    devservers::nats::start(&program, store, port, devservers::process::discard()).unwrap()
}

#[tokio::test]
async fn an_expiry_during_a_nats_outage_is_published_when_nats_is_back() {
    let store = TempDir::new("expiration-nats-outage");
    let nats = start_nats(&store.0, 0);
    let port = nats.port();
    let backing = Backing::on_nats(BusSettings {
        url: format!("nats://127.0.0.1:{port}"),
        client_id: "expiration-test".to_owned(),
        namespace: Namespace::none(),
        credentials: None,
        limits: common::bus::StreamLimits::for_tests(),
    })
    .await;
    backing.spawn_app().await;
    let order = order_created(after(Utc::now(), 2_000));
    backing.publish(&order).await;
    backing.settled().await;

    stop_gracefully(nats).await;
    // The job fires while NATS is away, and keeps trying.
    sleep_until(after(order.expires_at, 3_000)).await;
    let nats = start_nats(&store.0, port);

    let events = backing
        .wait_for_expirations(1, Duration::from_secs(30))
        .await;
    assert_eq!(events, [ExpirationComplete { order_id: order.id }]);
    stop_gracefully(nats).await;
}
