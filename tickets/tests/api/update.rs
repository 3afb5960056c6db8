use common::events::{TicketCreated, TicketUpdated};
use common::testing::events::{published, wait_for};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use crate::helpers::{assert_errors, assert_message, spawn_app};

const PRICE_INVALID: &str = "Price must be provided and must be greater than 0";

fn valid_update() -> Value {
    json!({ "title": "new title", "price": 100 })
}

#[tokio::test]
async fn returns_a_404_if_the_provided_id_does_not_exist() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app
        .put_ticket(Some(&cookie), &ObjectId::new().to_hex(), valid_update())
        .await;
    assert_message(response, 404, "Not Found").await;
}

#[tokio::test]
async fn returns_a_400_for_a_malformed_id() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app.put_ticket(Some(&cookie), "abc", valid_update()).await;
    assert_message(response, 400, "Something went wrong").await;
}

#[tokio::test]
async fn returns_a_401_if_the_user_is_not_authenticated() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    // Authentication comes first: even an invalid body for an unknown id is 401.
    for (id, body) in [
        (id.to_owned(), valid_update()),
        (ObjectId::new().to_hex(), json!({})),
    ] {
        let response = app.put_ticket(None, &id, body).await;
        assert_message(response, 401, "Not authorized").await;
    }
}

#[tokio::test]
async fn returns_a_401_if_the_user_does_not_own_the_ticket() {
    let app = spawn_app().await;
    let (_, owner) = signed_in_user();
    let ticket = app.create_ticket(&owner, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let (_, someone_else) = signed_in_user();
    let response = app
        .put_ticket(Some(&someone_else), id, valid_update())
        .await;
    assert_message(response, 401, "Not authorized").await;
    let unchanged: Value = app.get_ticket(id).await.json().await.unwrap();
    assert_eq!(unchanged, ticket);
}

#[tokio::test]
async fn returns_a_400_if_the_user_provides_an_invalid_title_or_price() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let cases = [
        (
            json!({ "title": "", "price": 20 }),
            json!([{ "message": "Title is required", "field": "title" }]),
        ),
        (
            json!({ "title": "concert", "price": -10 }),
            json!([{ "message": PRICE_INVALID, "field": "price" }]),
        ),
        (
            json!({ "title": "concert", "price": "abc" }),
            json!([{ "message": PRICE_INVALID, "field": "price" }]),
        ),
        (
            json!({ "title": "concert" }),
            json!([{ "message": PRICE_INVALID, "field": "price" }]),
        ),
        (
            json!({}),
            json!([
                { "message": "Title is required", "field": "title" },
                { "message": PRICE_INVALID, "field": "price" },
            ]),
        ),
        // The same limits as on create.
        (
            json!({ "title": "t".repeat(121), "price": 1e7 }),
            json!([
                { "message": "Title must be at most 120 characters", "field": "title" },
                { "message": "Price must be at most 999999.99", "field": "price" },
            ]),
        ),
        (
            json!({ "title": "concert", "price": 0.001 }),
            json!([{ "message": "Price must be at least 0.50", "field": "price" }]),
        ),
    ];
    for (body, errors) in cases {
        let response = app.put_ticket(Some(&cookie), id, body).await;
        assert_errors(response, 400, errors).await;
    }
    // Validation comes before the lookup: an unknown id with a bad body is 400, not 404.
    let unknown = app
        .put_ticket(
            Some(&cookie),
            &ObjectId::new().to_hex(),
            json!({ "title": "" , "price": 5 }),
        )
        .await;
    assert_eq!(unknown.status().as_u16(), 400);
    let unchanged: Value = app.get_ticket(id).await.json().await.unwrap();
    assert_eq!(unchanged, ticket);
}

#[tokio::test]
async fn updates_the_ticket_provided_valid_inputs() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let response = app.put_ticket(Some(&cookie), id, valid_update()).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let expected =
        json!({ "title": "new title", "price": 100, "userId": user_id, "version": 1, "id": id });
    assert_eq!(body, expected);
    let fetched: Value = app.get_ticket(id).await.json().await.unwrap();
    assert_eq!(fetched, expected);

    let response = app
        .put_ticket(
            Some(&cookie),
            id,
            json!({ "title": "again", "price": "7.25" }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["price"].clone(), body["version"].clone()),
        (json!(7.25), json!(2))
    );
}

#[tokio::test]
async fn publishes_an_event() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    app.put_ticket(Some(&cookie), id, valid_update()).await;
    let updated = wait_for::<TicketUpdated>(&app.backing.bus, 1).await;
    assert_eq!(
        updated,
        [TicketUpdated {
            id: id.to_owned(),
            title: "new title".into(),
            price: 100.0,
            user_id,
            version: 1,
            order_id: None,
        }]
    );
    app.backing.settled().await;
    // Exactly two publishes: the creation and the update.
    assert_eq!(published::<TicketCreated>(&app.backing.bus).await.len(), 1);
    assert_eq!(published::<TicketUpdated>(&app.backing.bus).await.len(), 1);
}

#[tokio::test]
async fn rejects_updates_if_the_ticket_is_reserved() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order = app.reserve(&ticket).await;
    let response = app.put_ticket(Some(&cookie), id, valid_update()).await;
    assert_message(response, 400, "Cannot edit a reserved ticket").await;
    let stored = app.backing.stored(id).await;
    assert_eq!(
        (stored.title.as_str(), stored.version, stored.order_id),
        ("concert", 1, Some(order.id))
    );
}

#[tokio::test]
async fn a_non_owner_editing_a_reserved_ticket_is_not_authorized() {
    // docs/decisions.md #6: ownership is checked before the reservation.
    let app = spawn_app().await;
    let (_, owner) = signed_in_user();
    let ticket = app.create_ticket(&owner, "concert", 20.0).await;
    app.reserve(&ticket).await;
    let (_, someone_else) = signed_in_user();
    let response = app
        .put_ticket(
            Some(&someone_else),
            ticket["id"].as_str().unwrap(),
            valid_update(),
        )
        .await;
    assert_message(response, 401, "Not authorized").await;
}

#[tokio::test]
async fn concurrent_edits_are_all_applied_one_version_each() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let edits = (1..=4).map(|n| {
        app.put_ticket(
            Some(&cookie),
            id,
            json!({ "title": format!("edit {n}"), "price": n * 10 }),
        )
    });
    let responses = futures::future::join_all(edits).await;
    let mut versions = Vec::new();
    for response in responses {
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        versions.push(body["version"].as_i64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        [1, 2, 3, 4],
        "no edit is lost or applied over another"
    );
    assert_eq!(app.backing.stored(id).await.version, 4);

    let events = wait_for::<TicketUpdated>(&app.backing.bus, 4).await;
    let mut event_versions: Vec<i64> = events.iter().map(|event| event.version).collect();
    event_versions.sort_unstable();
    assert_eq!(event_versions, [1, 2, 3, 4]);
}
