use chrono::{DateTime, Utc};
use common::events::{OrderCreated, OrderStatus};
use common::testing::events::{published, wait_for};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use crate::helpers::{EXPIRATION_WINDOW, assert_added, assert_errors, assert_message, spawn_app};

#[tokio::test]
async fn can_only_be_accessed_if_the_user_is_signed_in() {
    let app = spawn_app().await;
    // Authentication comes before validation: an empty body is 401, not 400.
    let response = app.post_order(None, json!({})).await;
    assert_message(response, 401, "Not authorized").await;
}

#[tokio::test]
async fn a_missing_or_empty_ticket_id_gets_two_errors() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let expected = json!([
        { "message": "Invalid value", "field": "ticketId" },
        { "message": "TicketId must be provided", "field": "ticketId" },
    ]);
    for body in [
        json!({}),
        json!({ "ticketId": "" }),
        json!({ "ticketId": null }),
    ] {
        let response = app.post_order(Some(&cookie), body).await;
        assert_errors(response, 400, expected.clone()).await;
    }
}

#[tokio::test]
async fn a_ticket_id_that_is_not_an_object_id_gets_one_error() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let expected = json!([{ "message": "TicketId must be provided", "field": "ticketId" }]);
    for id in [json!("abc"), json!("5f1c9a7e2d4b3a001234567z"), json!(42)] {
        let response = app
            .post_order(Some(&cookie), json!({ "ticketId": id }))
            .await;
        assert_errors(response, 400, expected.clone()).await;
    }
}

#[tokio::test]
async fn a_twelve_character_ticket_id_is_an_id_as_mongoose_says() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    // Valid for the validator, read as twelve bytes: no such ticket.
    let response = app
        .post_order(Some(&cookie), json!({ "ticketId": "twelve chars" }))
        .await;
    assert_message(response, 404, "Not Found").await;
}

#[tokio::test]
async fn returns_an_error_if_the_ticket_does_not_exist() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app
        .post_order(
            Some(&cookie),
            json!({ "ticketId": ObjectId::new().to_hex() }),
        )
        .await;
    assert_message(response, 404, "Not Found").await;
}

#[tokio::test]
async fn returns_an_error_if_the_ticket_is_already_reserved() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 20.0).await;
    let (_, first) = signed_in_user();
    app.create_order(&first, &ticket.id).await;
    let (_, second) = signed_in_user();
    let response = app
        .post_order(Some(&second), json!({ "ticketId": ticket.id }))
        .await;
    assert_message(response, 400, "Ticket is already reserved").await;
    // The same user cannot order it twice either.
    let again = app
        .post_order(Some(&first), json!({ "ticketId": ticket.id }))
        .await;
    assert_message(again, 400, "Ticket is already reserved").await;
}

#[tokio::test]
async fn reserves_a_ticket() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 20.0).await;
    let (user_id, cookie) = signed_in_user();
    let before = Utc::now();
    let response = app
        .post_order(Some(&cookie), json!({ "ticketId": ticket.id }))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        order,
        json!({
            "userId": user_id,
            "status": "created",
            "expiresAt": order["expiresAt"],
            "ticket": { "title": "concert", "price": 20, "version": 0, "id": ticket.id },
            "version": 0,
            "id": id,
        })
    );
    // `toISOString()`: milliseconds and `Z`, one window from now.
    let expires_at = order["expiresAt"].as_str().unwrap();
    assert!(
        expires_at.len() == 24 && expires_at.ends_with('Z'),
        "{expires_at}"
    );
    let expires_at = DateTime::parse_from_rfc3339(expires_at).unwrap().to_utc();
    let window = chrono::Duration::from_std(EXPIRATION_WINDOW).unwrap();
    assert!(expires_at >= before + window - chrono::Duration::milliseconds(1));
    assert!(expires_at <= Utc::now() + window);

    let stored = app.backing.stored(&id).await;
    assert_eq!(stored.status, OrderStatus::Created);
    assert_eq!(stored.ticket.to_hex(), ticket.id);
    let replica = app.backing.replica(&ticket.id).await.unwrap();
    assert_eq!(replica.reserved_by.map(|id| id.to_hex()), Some(id));
}

#[tokio::test]
async fn emits_an_order_created_event() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 19.99).await;
    let (user_id, cookie) = signed_in_user();
    let order = app.create_order(&cookie, &ticket.id).await;
    let events = wait_for::<OrderCreated>(&app.backing.bus, 1).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.id, order["id"].as_str().unwrap());
    assert_eq!(event.version, 0);
    assert_eq!(event.status, OrderStatus::Created);
    assert_eq!(event.user_id, user_id);
    assert_eq!(
        common::events::iso_millis::format(&event.expires_at),
        order["expiresAt"].as_str().unwrap()
    );
    assert_eq!(event.ticket.id, ticket.id);
    assert_eq!(event.ticket.price, 19.99);
}

#[tokio::test]
async fn forty_concurrent_orders_for_one_ticket_make_exactly_one() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 20.0).await;
    let before = app.metrics().await;
    let attempts = (0..40).map(|_| {
        let (_, cookie) = signed_in_user();
        order_at_once(&app, &cookie, &ticket.id)
    });
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    for response in responses {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created += 1,
            400 => assert_message(response, 400, "Ticket is already reserved").await,
            other => panic!(
                "unexpected status {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert_eq!(created, 1);
    let orders = app
        .backing
        .database()
        .collection::<mongodb::bson::Document>("orders")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(orders, 1);
    app.backing.settled().await;
    assert_eq!(published::<OrderCreated>(&app.backing.bus).await.len(), 1);
    // The one order stored is the one counted; the refusals are not.
    let after = app.metrics().await;
    assert_added(&before, &after, "orders_created_total", &[], 1.0);
}

#[tokio::test]
async fn a_cancelled_order_frees_the_ticket_for_a_new_order() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 20.0).await;
    let (_, first) = signed_in_user();
    let order = app.create_order(&first, &ticket.id).await;
    let cancelled = app
        .cancel_order(Some(&first), order["id"].as_str().unwrap())
        .await;
    assert_eq!(cancelled.status().as_u16(), 204);

    let (_, second) = signed_in_user();
    let again = app.create_order(&second, &ticket.id).await;
    assert_ne!(again["id"], order["id"]);
    let replica = app.backing.replica(&ticket.id).await.unwrap();
    assert_eq!(
        replica.reserved_by.map(|id| id.to_hex()).as_deref(),
        again["id"].as_str()
    );
}

const OWN_TICKET: &str = "You cannot order your own ticket";
const TOO_MANY_UNPAID: &str = "You have too many unpaid orders: pay for or cancel one first";

#[tokio::test]
async fn a_seller_cannot_order_their_own_ticket() {
    let app = spawn_app().await;
    let ticket = app.backing.seed_ticket("concert", 20.0).await;
    let seller = common::testing::session_cookie(&ticket.user_id, "seller@test.com");
    let response = app
        .post_order(Some(&seller), json!({ "ticketId": ticket.id }))
        .await;
    assert_message(response, 400, OWN_TICKET).await;
    let replica = app.backing.replica(&ticket.id).await.unwrap();
    assert_eq!(replica.reserved_by, None);
    // Anyone else may.
    let (_, buyer) = signed_in_user();
    let response = app
        .post_order(Some(&buyer), json!({ "ticketId": ticket.id }))
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn twenty_orders_of_one_buyer_at_once_make_at_most_five_unpaid() {
    let app = spawn_app().await;
    let mut tickets = Vec::new();
    for index in 0..20 {
        tickets.push(
            app.backing
                .seed_ticket(&format!("show {index}"), 20.0)
                .await,
        );
    }
    let (buyer, cookie) = signed_in_user();
    let attempts = tickets
        .iter()
        .map(|ticket| order_at_once(&app, &cookie, &ticket.id));
    let mut created = Vec::new();
    for response in futures::future::join_all(attempts).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created.push(response.json::<Value>().await.unwrap()["id"].clone()),
            400 => assert_message(response, 400, TOO_MANY_UNPAID).await,
            other => panic!(
                "unexpected status {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert_eq!(created.len(), 5);
    let unpaid = app
        .backing
        .database()
        .collection::<mongodb::bson::Document>("orders")
        .count_documents(mongodb::bson::doc! { "userId": &buyer, "status": "created" })
        .await
        .unwrap();
    assert_eq!(unpaid, 5);

    // Paying for one, or cancelling one, makes room for exactly one more each.
    let paid = created[0].as_str().unwrap();
    app.complete(paid).await;
    let cancelled = created[1].as_str().unwrap();
    let response = app.cancel_order(Some(&cookie), cancelled).await;
    assert_eq!(response.status().as_u16(), 204);
    let mut more = 0;
    for index in 0..4 {
        let ticket = app
            .backing
            .seed_ticket(&format!("more {index}"), 20.0)
            .await;
        let response = app
            .post_order(Some(&cookie), json!({ "ticketId": ticket.id }))
            .await;
        if response.status().as_u16() == 201 {
            more += 1;
        } else {
            assert_message(response, 400, TOO_MANY_UNPAID).await;
        }
    }
    assert_eq!(more, 2);
}

/// `POST /api/orders` for `ticket` with `cookie`, sent from a task of its own (so many go at
/// once).
fn order_at_once(
    app: &crate::helpers::TestApp,
    cookie: &str,
    ticket: &str,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let (client, url) = (app.client.clone(), app.url("/api/orders"));
    let (cookie, body) = (cookie.to_owned(), json!({ "ticketId": ticket }));
    tokio::spawn(async move {
        client
            .post(url)
            .header("cookie", cookie)
            .json(&body)
            .send()
            .await
            .unwrap()
    })
}
