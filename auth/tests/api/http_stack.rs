//! What every route shares: the 404 fallback, malformed bodies, size limit, probes.

use serde_json::json;

use common::testing::http::assert_not_found;

use crate::helpers::{assert_errors, spawn_app};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_not_found_in_the_envelope() {
    let app = spawn_app().await;
    assert_not_found(app.client.get(app.url("/api/users/nope"))).await;
    assert_not_found(app.client.get(app.url("/api/users/signup"))).await;
    assert_not_found(app.client.delete(app.url("/api/users/currentuser"))).await;
}

#[tokio::test]
async fn a_trailing_slash_routes_like_express() {
    let app = spawn_app().await;
    let response = app.get("/api/users/currentuser/", None).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn malformed_json_is_something_went_wrong() {
    let app = spawn_app().await;
    for body in [r#"{"email": "test@test.com", "#, "[]", "\"text\""] {
        let response = app
            .client
            .post(app.url("/api/users/signup"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_errors(
            response,
            400,
            json!([{ "message": "Something went wrong" }]),
        )
        .await;
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_the_envelope() {
    let app = spawn_app().await;
    let huge = json!({ "email": "test@test.com", "password": "x".repeat(100 * 1024) });
    let response = app.post_json("/api/users/signup", huge).await;
    assert_errors(
        response,
        413,
        json!([{ "message": "Request body is too large" }]),
    )
    .await;
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    common::testing::http::assert_probes_answer(&app.address).await;
}
