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
    assert_eq!(orders, [second.clone(), first.clone()], "newest first");
    assert_eq!(orders[0]["ticket"]["id"], three.id.as_str());
    assert_eq!(orders[1]["ticket"]["id"], two.id.as_str());
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
    assert_eq!(statuses, ["created", "cancelled"]);
    assert_eq!(orders[1]["version"], 1);
    assert_eq!(orders[0], active);
}

#[tokio::test]
async fn a_user_without_orders_gets_an_empty_list() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let orders: Vec<Value> = app.list_orders(Some(&cookie)).await.json().await.unwrap();
    assert!(orders.is_empty());
}

#[tokio::test]
async fn a_long_history_comes_a_page_at_a_time() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let mut ids = Vec::new();
    for index in 0..5 {
        let ticket = app.backing.seed_ticket(&format!("t{index}"), 10.0).await;
        let order = app.create_order(&cookie, &ticket.id).await;
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let get = |path: String| {
        let request = app.client.get(app.url(&path)).header("cookie", &cookie);
        async move { request.send().await.unwrap() }
    };
    let ids_of = |orders: Vec<Value>| -> Vec<String> {
        orders
            .iter()
            .map(|order| order["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let response = get("/api/orders?limit=2".to_owned()).await;
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!("</api/orders?limit=2&after={}>; rel=\"next\"", ids[1])
    );
    assert_eq!(ids_of(response.json().await.unwrap()), ids[0..2]);
    let response = get(format!("/api/orders?limit=2&after={}", ids[3])).await;
    assert!(
        response.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"prev\"")
    );
    assert_eq!(ids_of(response.json().await.unwrap()), ids[4..5]);

    let bad = get("/api/orders?limit=1000".to_owned()).await;
    crate::helpers::assert_errors(
        bad,
        400,
        serde_json::json!([
            { "message": "Limit must be a whole number from 1 to 100", "field": "limit" }
        ]),
    )
    .await;
}
