use common::events::{ExpirationComplete, OrderCancelled, OrderStatus};
use common::testing::events::{eventually, published, wait_for};
use common::testing::signed_in_user;

use crate::helpers::{assert_added, spawn_app};

#[tokio::test]
async fn updates_the_order_status_to_cancelled() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.backing.expire(&placed.id).await;
    eventually("the order is cancelled", || async {
        app.backing.stored(&placed.id).await.status == OrderStatus::Cancelled
    })
    .await;
    assert_eq!(app.backing.stored(&placed.id).await.version, 1);
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert_eq!(replica.reserved_by, None, "the ticket is released");
}

#[tokio::test]
async fn counts_an_expiry_once_however_often_it_is_delivered() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let before = app.metrics().await;
    app.backing.expire(&placed.id).await;
    // Delivered again (another message id): the order is cancelled already.
    app.backing.expire(&placed.id).await;
    app.backing.settled().await;
    assert_eq!(app.backing.stored(&placed.id).await.version, 1);
    let after = app.metrics().await;
    assert_added(&before, &after, "orders_expired_total", &[], 1.0);
    assert_added(&before, &after, "orders_cancelled_total", &[], 0.0);
}

#[tokio::test]
async fn emit_an_order_cancelled_event() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.backing.expire(&placed.id).await;
    let events = wait_for::<OrderCancelled>(&app.backing.bus, 1).await;
    assert_eq!(events, [placed.cancelled_event()]);
}

#[tokio::test]
async fn ack_the_message() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.backing.expire(&placed.id).await;
    eventually("the event is acked", || async {
        app.backing.consumer_drained::<ExpirationComplete>().await
    })
    .await;
}

#[tokio::test]
async fn an_expired_ticket_can_be_ordered_again() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.backing.expire(&placed.id).await;
    wait_for::<OrderCancelled>(&app.backing.bus, 1).await;
    let (_, other) = signed_in_user();
    app.create_order(&other, &placed.ticket.id).await;
}

#[tokio::test]
async fn is_ignored_for_a_complete_order() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.complete(&placed.id).await;

    let before = app.metrics().await;
    app.backing.expire(&placed.id).await;
    app.backing.settled().await;
    assert_added(
        &before,
        &app.metrics().await,
        "orders_expired_total",
        &[],
        0.0,
    );
    let stored = app.backing.stored(&placed.id).await;
    assert_eq!((stored.status, stored.version), (OrderStatus::Complete, 1));
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert!(replica.reserved_by.is_some(), "the sold ticket stays held");
    assert!(
        published::<OrderCancelled>(&app.backing.bus)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn is_ignored_for_a_cancelled_order() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let cancelled = app.cancel_order(Some(&placed.cookie), &placed.id).await;
    assert_eq!(cancelled.status().as_u16(), 204);
    // Someone else holds the ticket now: a late expiry must not free it (docs/decisions.md #9).
    let (_, other) = signed_in_user();
    let newer = app.create_order(&other, &placed.ticket.id).await;

    app.backing.expire(&placed.id).await;
    app.backing.settled().await;
    assert_eq!(
        app.backing.stored(&placed.id).await.version,
        1,
        "not cancelled twice"
    );
    assert_eq!(published::<OrderCancelled>(&app.backing.bus).await.len(), 1);
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert_eq!(
        replica.reserved_by.map(|id| id.to_hex()).as_deref(),
        newer["id"].as_str()
    );
}

#[tokio::test]
async fn an_unknown_order_is_not_acked() {
    let app = spawn_app().await;
    app.backing
        .expire(&mongodb::bson::oid::ObjectId::new().to_hex())
        .await;
    app.backing
        .wait_until_redelivered::<ExpirationComplete>()
        .await;
}
