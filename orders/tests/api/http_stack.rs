//! What every route shares: the 404 fallback and the probes.

use common::testing::http::assert_not_found;
use common::testing::signed_in_user;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_not_found_in_the_envelope() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let signed_in = |request: reqwest::RequestBuilder| request.header("cookie", &cookie);
    assert_not_found(signed_in(app.client.get(app.url("/api/orders/a/b")))).await;
    assert_not_found(signed_in(app.client.put(app.url("/api/orders"))).json(&json!({}))).await;
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    common::testing::http::assert_probes_answer(&app.address).await;
}
