//! `order:created` reserves the ticket: driven by events really published to JetStream.

use common::events::{OrderCreated, TicketUpdated};
use common::testing::events::{eventually, published, wait_for};
use common::testing::signed_in_user;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use serde_json::json;

use crate::helpers::{order_cancelled, order_created, spawn_app};

#[tokio::test]
async fn sets_the_order_id_of_the_ticket() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let event = order_created(&ticket);
    app.backing.publish(&event).await;
    let id = ticket["id"].as_str().unwrap();
    eventually("the ticket holds the order", || async {
        app.backing.stored(id).await.order_id.as_deref() == Some(event.id.as_str())
    })
    .await;
    let stored = app.backing.stored(id).await;
    assert_eq!(stored.version, 1);
    assert_eq!((stored.title.as_str(), stored.price), ("concert", 20.0));
}

#[tokio::test]
async fn acks_the_message() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    app.reserve(&ticket).await;
    eventually("the message is acked", || {
        app.backing.consumer_drained::<OrderCreated>()
    })
    .await;
}

#[tokio::test]
async fn publishes_a_ticket_updated_event() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let event = order_created(&ticket);
    app.backing.publish(&event).await;
    let updated = wait_for::<TicketUpdated>(&app.backing.bus, 1).await;
    assert_eq!(
        updated,
        [TicketUpdated {
            id: ticket["id"].as_str().unwrap().to_owned(),
            title: "concert".into(),
            price: 20.0,
            user_id,
            version: 1,
            order_id: Some(event.id),
        }]
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_applied_once() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let event = order_created(&ticket);
    // Two message ids: the stream keeps both, as after a publisher's retry.
    app.backing.publish(&event).await;
    app.backing.publish(&event).await;
    app.backing.settled().await;
    let stored = app.backing.stored(ticket["id"].as_str().unwrap()).await;
    assert_eq!((stored.version, stored.order_id), (1, Some(event.id)));
    assert_eq!(published::<TicketUpdated>(&app.backing.bus).await.len(), 1);
}

#[tokio::test]
async fn an_order_for_a_ticket_not_yet_known_is_retried_until_it_is() {
    let app = spawn_app().await;
    let ticket_id = ObjectId::new();
    let event = order_created(&json!({ "id": ticket_id.to_hex(), "price": 20 }));
    app.backing.publish(&event).await;
    // Not acknowledged while the ticket is missing.
    eventually("the event was delivered", || async {
        app.backing.consumer_backlog::<OrderCreated>().await.pending == 0
    })
    .await;
    assert!(!app.backing.consumer_drained::<OrderCreated>().await);

    app.backing
        .database()
        .collection::<mongodb::bson::Document>("tickets")
        .insert_one(doc! {
            "_id": ticket_id, "title": "late", "price": 20.0, "userId": "u1", "version": 0_i64,
        })
        .await
        .unwrap();
    eventually("the redelivered event reserves the ticket", || async {
        app.backing
            .stored(&ticket_id.to_hex())
            .await
            .order_id
            .as_deref()
            == Some(event.id.as_str())
    })
    .await;
    app.backing.settled().await;
}

/// Order `a` holds the ticket when order `b`'s creation arrives (say `a`'s cancellation is
/// late, or `b`'s creation is an old one redelivered late): `b` waits for a cancellation.
async fn held_by_a_when_b_arrives() -> (crate::helpers::TestApp, String, OrderCreated, OrderCreated)
{
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap().to_owned();
    let a = app.reserve(&ticket).await;
    let b = order_created(&ticket);
    app.backing.publish(&b).await;
    eventually("b's creation was delivered", || async {
        app.backing.consumer_backlog::<OrderCreated>().await.pending == 0
    })
    .await;
    // Not applied, not acknowledged: a keeps the ticket for now.
    assert!(!app.backing.consumer_drained::<OrderCreated>().await);
    assert_eq!(app.backing.stored(&id).await.order_id, Some(a.id.clone()));
    (app, id, a, b)
}

#[tokio::test]
async fn a_second_order_waits_and_takes_the_ticket_once_the_holder_is_cancelled() {
    let (app, id, a, b) = held_by_a_when_b_arrives().await;
    app.backing.publish(&order_cancelled(&a)).await;
    eventually("b holds the ticket", || async {
        app.backing.stored(&id).await.order_id.as_deref() == Some(b.id.as_str())
    })
    .await;
    app.backing.settled().await;
    assert_eq!(app.backing.stored(&id).await.version, 3);
}

#[tokio::test]
async fn a_late_creation_of_a_cancelled_order_never_takes_the_ticket_from_the_holder() {
    let (app, id, a, b) = held_by_a_when_b_arrives().await;
    app.backing.publish(&order_cancelled(&b)).await;
    app.backing.settled().await;
    let stored = app.backing.stored(&id).await;
    assert_eq!((stored.version, stored.order_id), (1, Some(a.id)));
}
