//! What every route shares: the 404 fallback and the probes.

use common::testing::signed_in_user;
use serde_json::json;

use crate::helpers::{assert_message, spawn_app};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_not_found_in_the_envelope() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let unknown = app
        .client
        .get(app.url("/api/payments/abc"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_message(unknown, 404, "Not Found").await;
    let wrong_method = app
        .client
        .get(app.url("/api/payments"))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_message(wrong_method, 404, "Not Found").await;
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    common::testing::http::assert_probes_answer(&app.address).await;
}
