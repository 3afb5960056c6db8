use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use crate::helpers::{assert_message, spawn_app};

#[tokio::test]
async fn returns_a_404_if_the_ticket_is_not_found() {
    let app = spawn_app().await;
    let response = app.get_ticket(&ObjectId::new().to_hex()).await;
    assert_message(response, 404, "Not Found").await;
}

#[tokio::test]
async fn returns_a_400_for_a_malformed_id() {
    let app = spawn_app().await;
    let response = app.get_ticket("abc").await;
    assert_message(response, 400, "Something went wrong").await;
}

#[tokio::test]
async fn a_twelve_character_id_is_an_id_nothing_has_as_mongoose_reads_it() {
    let app = spawn_app().await;
    // mongoose casts any 12-byte string to the ObjectId of those bytes: no such ticket.
    let response = app.get_ticket("twelve-chars").await;
    assert_message(response, 404, "Not Found").await;
    // Twelve characters that are not twelve bytes fail the cast.
    let response = app
        .get_ticket("%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1a")
        .await;
    assert_message(response, 400, "Something went wrong").await;
}

#[tokio::test]
async fn returns_the_ticket_if_the_ticket_is_found() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let created = app.create_ticket(&cookie, "concert", 20.0).await;
    let response = app.get_ticket(created["id"].as_str().unwrap()).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, created);
    assert_eq!(body["title"], "concert");
    assert_eq!(body["price"], json!(20));
    assert_eq!(body["userId"], user_id);
    // Anyone may look: no cookie was sent.
}

#[tokio::test]
async fn shows_the_order_of_a_reserved_ticket() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let created = app.create_ticket(&cookie, "concert", 20.0).await;
    let order = app.reserve(&created).await;
    let body: Value = app
        .get_ticket(created["id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["orderId"], order.id);
    assert_eq!(body["version"], 1);
}
