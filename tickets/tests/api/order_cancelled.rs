//! `order:cancelled` releases the ticket, but only for the order holding it (docs/decisions.md #9).

use common::events::TicketUpdated;
use common::testing::events::{eventually, published, wait_for};
use common::testing::signed_in_user;
use serde_json::json;

use crate::helpers::{order_cancelled, order_created, spawn_app};

#[tokio::test]
async fn updates_the_ticket_publishes_an_event_and_acks_the_message() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order = app.reserve(&ticket).await;

    app.backing.publish(&order_cancelled(&order)).await;
    eventually("the ticket is free", || async {
        app.backing.stored(id).await.order_id.is_none()
    })
    .await;
    let raw = app
        .backing
        .database()
        .collection::<mongodb::bson::Document>("tickets")
        .find_one(mongodb::bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    assert!(!raw.contains_key("orderId"), "the field is removed: {raw}");
    assert_eq!(raw.get_i64("version").unwrap(), 2);

    let updated = wait_for::<TicketUpdated>(&app.backing.bus, 2).await;
    assert_eq!(
        updated[1],
        TicketUpdated {
            id: id.to_owned(),
            title: "concert".into(),
            price: 20.0,
            user_id,
            version: 2,
            order_id: None,
        }
    );
    app.backing.settled().await;
    let shown: serde_json::Value = app.get_ticket(id).await.json().await.unwrap();
    assert!(shown.get("orderId").is_none(), "{shown}");
}

#[tokio::test]
async fn a_cancelled_order_that_does_not_hold_the_ticket_changes_nothing() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let holder = app.reserve(&ticket).await;

    // A late cancellation of some other order for this ticket.
    let other = order_created(&ticket);
    app.backing.publish(&order_cancelled(&other)).await;
    app.backing.settled().await;
    let stored = app.backing.stored(id).await;
    assert_eq!((stored.version, stored.order_id), (1, Some(holder.id)));
    assert_eq!(published::<TicketUpdated>(&app.backing.bus).await.len(), 1);
}

#[tokio::test]
async fn the_same_cancellation_delivered_twice_is_applied_once() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let order = app.reserve(&ticket).await;
    let cancelled = order_cancelled(&order);
    app.backing.publish(&cancelled).await;
    app.backing.publish(&cancelled).await;
    app.backing.settled().await;
    let stored = app.backing.stored(ticket["id"].as_str().unwrap()).await;
    assert_eq!((stored.version, stored.order_id), (2, None));
    assert_eq!(published::<TicketUpdated>(&app.backing.bus).await.len(), 2);
}

#[tokio::test]
async fn a_released_ticket_can_be_reserved_again_and_then_not_released_by_the_old_order() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let first = app.reserve(&ticket).await;
    app.backing.publish(&order_cancelled(&first)).await;
    eventually("the ticket is free", || async {
        app.backing.stored(id).await.order_id.is_none()
    })
    .await;
    let second = app.reserve(&ticket).await;
    // The first order's cancellation, redelivered late, must not free the second's ticket.
    app.backing.publish(&order_cancelled(&first)).await;
    app.backing.settled().await;
    let stored = app.backing.stored(id).await;
    assert_eq!((stored.version, stored.order_id), (3, Some(second.id)));
    let shown: serde_json::Value = app.get_ticket(id).await.json().await.unwrap();
    assert_eq!(shown["version"], json!(3));
}

#[tokio::test]
async fn a_cancellation_that_overtakes_its_creation_keeps_the_ticket_free() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order = order_created(&ticket);
    // The two subjects have their own consumers: the cancellation can be handled first.
    app.backing.publish(&order_cancelled(&order)).await;
    app.backing.settled().await;
    app.backing.publish(&order).await;
    app.backing.settled().await;

    let stored = app.backing.stored(id).await;
    assert_eq!((stored.version, stored.order_id), (0, None));
    assert!(
        published::<TicketUpdated>(&app.backing.bus)
            .await
            .is_empty()
    );
    let listed = app.list_tickets().await;
    assert_eq!(listed.len(), 1, "still on sale: {listed:?}");
}

#[tokio::test]
async fn a_cancelled_orders_creation_delivered_again_does_not_reserve_the_ticket() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order = app.reserve(&ticket).await;
    app.backing.publish(&order_cancelled(&order)).await;
    app.backing.settled().await;
    app.backing.publish(&order).await;
    app.backing.settled().await;

    let stored = app.backing.stored(id).await;
    assert_eq!((stored.version, stored.order_id), (2, None));
    // Still editable by its owner, and the note of the cancellation survives the edit.
    let edited = app
        .put_ticket(Some(&cookie), id, json!({ "title": "gig", "price": 25 }))
        .await;
    assert_eq!(edited.status().as_u16(), 200);
    app.backing.publish(&order).await;
    app.backing.settled().await;
    let stored = app.backing.stored(id).await;
    assert_eq!((stored.version, stored.order_id), (3, None));
    assert_eq!(stored.cancelled_order_ids, vec![order.id]);
}
