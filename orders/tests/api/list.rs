use common::testing::signed_in_user;
use serde_json::Value;

use crate::helpers::{assert_message, spawn_app};

#[tokio::test]
async fn can_only_be_accessed_if_the_user_is_signed_in() {
    let app = spawn_app().await;
    assert_message(app.list_orders(None).await, 401, "Not authorized").await;
}

#[tokio::test]
async fn fetches_orders_for_an_particular_user() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let one = backing.seed_ticket("one", 10.0).await;
    let two = backing.seed_ticket("two", 20.0).await;
    let three = backing.seed_ticket("three", 30.0).await;
    let (_, user_one) = signed_in_user();
    let (_, user_two) = signed_in_user();
    app.create_order(&user_one, &one.id).await;
    let first = app.create_order(&user_two, &two.id).await;
    let second = app.create_order(&user_two, &three.id).await;

    let response = app.list_orders(Some(&user_two)).await;
    assert_eq!(response.status().as_u16(), 200);
    let orders: Vec<Value> = response.json().await.unwrap();
    assert_eq!(orders, [first.clone(), second.clone()]);
    assert_eq!(orders[0]["ticket"]["id"], two.id.as_str());
    assert_eq!(orders[1]["ticket"]["id"], three.id.as_str());
}

#[tokio::test]
async fn lists_orders_of_every_status() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let (_, cookie) = signed_in_user();
    let first = backing.seed_ticket("one", 10.0).await;
    let second = backing.seed_ticket("two", 20.0).await;
    let cancelled = app.create_order(&cookie, &first.id).await;
    let cancelled_id = cancelled["id"].as_str().unwrap();
    assert_eq!(
        app.cancel_order(Some(&cookie), cancelled_id)
            .await
            .status()
            .as_u16(),
        204
    );
    let active = app.create_order(&cookie, &second.id).await;

    let orders: Vec<Value> = app.list_orders(Some(&cookie)).await.json().await.unwrap();
    let statuses: Vec<&str> = orders
        .iter()
        .map(|order| order["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled", "created"]);
    assert_eq!(orders[0]["version"], 1);
    assert_eq!(orders[1], active);
}

#[tokio::test]
async fn a_user_without_orders_gets_an_empty_list() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let orders: Vec<Value> = app.list_orders(Some(&cookie)).await.json().await.unwrap();
    assert!(orders.is_empty());
}
