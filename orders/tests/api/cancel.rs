use common::events::{OrderCancelled, OrderStatus};
use common::testing::events::{published, wait_for};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;

use crate::helpers::{assert_added, assert_message, spawn_app};

#[tokio::test]
async fn marks_an_order_as_cancelled() {
    let app = spawn_app().await;
    let placed = app.place_order().await;

    let response = app.cancel_order(Some(&placed.cookie), &placed.id).await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.bytes().await.unwrap().is_empty(), "no body");

    let stored = app.backing.stored(&placed.id).await;
    assert_eq!((stored.status, stored.version), (OrderStatus::Cancelled, 1));
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert_eq!(replica.reserved_by, None, "the ticket is released");
}

#[tokio::test]
async fn emits_a_order_cancelled_event() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.cancel_order(Some(&placed.cookie), &placed.id).await;

    let events = wait_for::<OrderCancelled>(&app.backing.bus, 1).await;
    assert_eq!(events, [placed.cancelled_event()]);
}

#[tokio::test]
async fn cancelling_a_cancelled_order_is_204_and_publishes_nothing_more() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let before = app.metrics().await;
    let cancel = || app.cancel_order(Some(&placed.cookie), &placed.id);
    assert_eq!(cancel().await.status().as_u16(), 204);
    wait_for::<OrderCancelled>(&app.backing.bus, 1).await;

    assert_eq!(cancel().await.status().as_u16(), 204);
    app.backing.settled().await;
    assert_eq!(published::<OrderCancelled>(&app.backing.bus).await.len(), 1);
    assert_eq!(
        app.backing.stored(&placed.id).await.version,
        1,
        "no second change"
    );
    let after = app.metrics().await;
    assert_added(&before, &after, "orders_cancelled_total", &[], 1.0);
    assert_added(&before, &after, "orders_expired_total", &[], 0.0);
}

#[tokio::test]
async fn a_complete_order_cannot_be_cancelled() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    app.complete(&placed.id).await;

    let before = app.metrics().await;
    let response = app.cancel_order(Some(&placed.cookie), &placed.id).await;
    assert_message(response, 400, "Cannot cancel a completed order").await;
    assert_added(
        &before,
        &app.metrics().await,
        "orders_cancelled_total",
        &[],
        0.0,
    );
    let stored = app.backing.stored(&placed.id).await;
    assert_eq!((stored.status, stored.version), (OrderStatus::Complete, 1));
    let replica = app.backing.replica(&placed.ticket.id).await.unwrap();
    assert_eq!(
        replica.reserved_by.map(|id| id.to_hex()),
        Some(placed.id),
        "the sold ticket stays held"
    );
    app.backing.settled().await;
    assert!(
        published::<OrderCancelled>(&app.backing.bus)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_owner_can_cancel() {
    let app = spawn_app().await;
    let placed = app.place_order().await;
    let (_, other) = signed_in_user();

    let anonymous = app.cancel_order(None, &placed.id).await;
    assert_message(anonymous, 401, "Not authorized").await;
    let not_owner = app.cancel_order(Some(&other), &placed.id).await;
    assert_message(not_owner, 401, "Not authorized").await;
    assert_eq!(
        app.backing.stored(&placed.id).await.status,
        OrderStatus::Created
    );
}

#[tokio::test]
async fn an_unknown_order_is_not_found_and_a_malformed_id_is_a_bad_request() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let unknown = app
        .cancel_order(Some(&cookie), &ObjectId::new().to_hex())
        .await;
    assert_message(unknown, 404, "Not Found").await;
    let malformed = app.cancel_order(Some(&cookie), "abc").await;
    assert_message(malformed, 400, "Something went wrong").await;
}
