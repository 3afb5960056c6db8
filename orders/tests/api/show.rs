use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::Value;

use crate::helpers::{assert_message, spawn_app};

#[tokio::test]
async fn fetches_the_order() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let response = app.show_order(Some(&placed.cookie), &placed.id).await;
    assert_eq!(response.status().as_u16(), 200);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, placed.order);
    assert_eq!(fetched["userId"], placed.user_id.as_str());
}

#[tokio::test]
async fn returns_an_error_if_one_user_tries_to_fetch_another_users_order() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let (_, other) = signed_in_user();
    let response = app.show_order(Some(&other), &placed.id).await;
    assert_message(response, 401, "Not authorized").await;
}

#[tokio::test]
async fn needs_a_signed_in_user() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let response = app.show_order(None, &placed.id).await;
    assert_message(response, 401, "Not authorized").await;
}

#[tokio::test]
async fn an_unknown_order_is_not_found_and_a_malformed_id_is_a_bad_request() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let unknown = app
        .show_order(Some(&cookie), &ObjectId::new().to_hex())
        .await;
    assert_message(unknown, 404, "Not Found").await;
    let malformed = app.show_order(Some(&cookie), "abc").await;
    assert_message(malformed, 400, "Something went wrong").await;
}
