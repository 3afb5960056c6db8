//! `/healthz` and `/readyz` on the service's small HTTP port.

use common::config::Secret;
use serde_json::{Value, json};

use crate::helpers::Backing;

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let backing = Backing::new().await;
    let address = backing.spawn_app().await;
    common::testing::http::assert_probes_answer(&address).await;
}

#[tokio::test]
async fn not_ready_without_redis_but_alive() {
    let backing = Backing::new().await;
    let mut config = backing.config();
    // Nothing listens on port 1.
    config.redis_url = Secret::new("redis://127.0.0.1:1");
    let server = expiration::build(config).await.unwrap();
    let address = common::testing::http::spawn(server);
    let client = reqwest::Client::new();

    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "status": "unavailable", "failing": ["redis"] })
    );

    let alive = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status().as_u16(), 200);
}

#[tokio::test]
async fn other_paths_are_not_found() {
    let backing = Backing::new().await;
    let address = backing.spawn_app().await;
    let response = reqwest::get(format!("{address}/api/orders")).await.unwrap();
    common::testing::http::assert_message(response, 404, "Not Found").await;
}
