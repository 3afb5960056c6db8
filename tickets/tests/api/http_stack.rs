//! What every route shares: the 404 fallback, malformed bodies, probes.

use common::testing::http::assert_not_found;
use common::testing::signed_in_user;

use crate::helpers::{assert_message, spawn_app};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_not_found_in_the_envelope() {
    let app = spawn_app().await;
    assert_not_found(app.client.get(app.url("/api/nope"))).await;
    assert_not_found(app.client.delete(app.url("/api/tickets"))).await;
}

#[tokio::test]
async fn a_trailing_slash_routes_like_express() {
    let app = spawn_app().await;
    let response = app.get("/api/tickets/", None).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn malformed_json_is_something_went_wrong() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app
        .client
        .post(app.url("/api/tickets"))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(r#"{"title": "concert", "#)
        .send()
        .await
        .unwrap();
    assert_message(response, 400, "Something went wrong").await;
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    common::testing::http::assert_probes_answer(&app.address).await;
}
