use common::events::{OrderCancelled, OrderStatus, PaymentCreated};
use common::testing::events::{eventually, published};
use common::testing::signed_in_user;
use serde_json::json;

use crate::helpers::{assert_added, assert_message, spawn_app};

#[tokio::test]
async fn completes_the_order_and_keeps_its_ticket() {
    let app = spawn_app().await;
    let placed = app.place_order().await;

    app.complete(&placed.id).await;
    assert_eq!(app.backing.stored(&placed.id).await.version, 1);
    eventually("the event is acked", || async {
        app.backing.consumer_drained::<PaymentCreated>().await
    })
    .await;
    // No event for the completion (as the original), and the sold ticket stays taken.
    assert!(
        published::<OrderCancelled>(&app.backing.bus)
            .await
            .is_empty()
    );
    let (_, other) = signed_in_user();
    let response = app
        .post_order(Some(&other), json!({ "ticketId": placed.ticket.id }))
        .await;
    assert_message(response, 400, "Ticket is already reserved").await;
}

#[tokio::test]
async fn a_duplicate_payment_is_acked_and_applied_once() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let before = app.metrics().await;
    app.backing.pay(&placed.id).await;
    app.backing.pay(&placed.id).await;
    app.backing.settled().await;
    let stored = app.backing.stored(&placed.id).await;
    assert_eq!((stored.status, stored.version), (OrderStatus::Complete, 1));
    assert_added(
        &before,
        &app.metrics().await,
        "orders_completed_total",
        &[],
        1.0,
    );
}

#[tokio::test]
async fn a_payment_for_a_cancelled_order_is_acked_and_changes_nothing() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let cancelled = app.cancel_order(Some(&placed.cookie), &placed.id).await;
    assert_eq!(cancelled.status().as_u16(), 204);

    let before = app.metrics().await;
    app.backing.pay(&placed.id).await;
    app.backing.settled().await;
    let stored = app.backing.stored(&placed.id).await;
    assert_eq!((stored.status, stored.version), (OrderStatus::Cancelled, 1));
    assert_added(
        &before,
        &app.metrics().await,
        "orders_completed_total",
        &[],
        0.0,
    );
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert_eq!(replica.reserved_by, None);
}

#[tokio::test]
async fn a_payment_for_an_unknown_order_is_not_acked() {
    let app = spawn_app().await;
    app.backing
        .pay(&mongodb::bson::oid::ObjectId::new().to_hex())
        .await;
    app.backing.wait_until_redelivered::<PaymentCreated>().await;
}
