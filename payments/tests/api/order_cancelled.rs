//! `order:cancelled`: the version rules (docs/decisions.md #12; the original's tests 'updates the status of the
//! order', 'acks the message') and the refund of a payment the cancellation beat (docs/decisions.md #11).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::events::{OrderCancelled, OrderStatus};
use common::testing::events::eventually;
use mongodb::bson::oid::ObjectId;
use payments::models::AttemptState;

use crate::helpers::{
    assert_added, charge_json, form_pairs, order_created, refund_json, requests_to, spawn_app,
    spawn_app_with_mock, stripe_answers, stripe_error,
};

#[tokio::test]
async fn updates_the_status_of_the_order_and_acks_the_message() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    app.backing.cancel(&placed.order, 1).await;
    eventually("the replica is cancelled", || async {
        let replica = app.backing.replica(&placed.id).await.unwrap();
        (replica.status, replica.version) == (OrderStatus::Cancelled, 1)
    })
    .await;
    app.backing.settled().await;
}

#[tokio::test]
async fn a_skipped_version_waits_for_the_one_before_it() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    app.backing.cancel(&placed.order, 2).await;
    eventually("the early event is refused and redelivered", || async {
        app.backing
            .consumer_backlog::<OrderCancelled>()
            .await
            .redelivered
            > 0
    })
    .await;
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!((replica.status, replica.version), (OrderStatus::Created, 0));

    app.backing.cancel(&placed.order, 1).await;
    app.backing.settled().await;
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!(
        (replica.status, replica.version),
        (OrderStatus::Cancelled, 2)
    );
}

#[tokio::test]
async fn an_already_applied_cancellation_is_acked_and_ignored() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    app.backing.cancel_and_wait(&placed.order).await;
    app.backing.cancel(&placed.order, 1).await;
    app.backing.cancel(&placed.order, 0).await;
    app.backing.settled().await;
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!(
        (replica.status, replica.version),
        (OrderStatus::Cancelled, 1)
    );
}

#[tokio::test]
async fn a_cancellation_before_its_order_waits_for_it() {
    let app = spawn_app().await;
    let order = order_created(
        &ObjectId::new().to_hex(),
        20.0,
        Utc::now() + TimeDelta::minutes(15),
    );
    app.backing.cancel(&order, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.backing.publish(&order).await;
    app.backing.settled().await;
    let replica = app.backing.replica(&order.id).await.unwrap();
    assert_eq!(
        (replica.status, replica.version),
        (OrderStatus::Cancelled, 1)
    );
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_the_payment_once() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let before = app.metrics().await;
    let paid = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(paid.status().as_u16(), 201);

    app.backing.cancel(&placed.order, 1).await;
    app.backing.cancel(&placed.order, 1).await;
    app.backing.settled().await;

    let payment = app.backing.payment_of(&placed.id).await.unwrap();
    assert!(payment.refunded_at.is_some());
    assert!(payment.refund_id.is_some());
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!(replica.status, OrderStatus::Cancelled);
    assert!(replica.payment.unwrap().refunded_at.is_some());
    let attempts = app.backing.attempts_for(&placed.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Refunded);

    let ledger = app.backing.ledger();
    assert_eq!(ledger.refunds_of(&payment.stripe_id).len(), 1);
    assert!(ledger.kept_charges().is_empty());
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_succeeded_total", &[], 1.0);
    assert_added(&before, &after, "payments_refunded_total", &[], 1.0);
    let refund_create = [r#"operation="refund_create""#];
    let timed = "stripe_request_duration_seconds_count";
    assert_added(&before, &after, timed, &refund_create, 1.0);
}

#[tokio::test]
async fn a_refund_stripe_fails_is_retried_until_it_succeeds() {
    let app = spawn_app_with_mock().await;
    let mock = app.backing.mock();
    stripe_answers(mock, "/v1/charges", 200, charge_json("ch_paid", 2000), None).await;
    let down = stripe_error("api_error", "Stripe is down");
    stripe_answers(mock, "/v1/refunds", 503, down, Some(2)).await;
    let refund = refund_json("re_1", "ch_paid", 2000);
    stripe_answers(mock, "/v1/refunds", 200, refund, None).await;
    let placed = app.place_order(20.0).await;
    assert_eq!(
        app.pay(&placed.cookie, &placed.id, "tok_visa")
            .await
            .status()
            .as_u16(),
        201
    );

    let before = app.metrics().await;
    app.backing.cancel(&placed.order, 1).await;
    app.backing.settled().await;
    let payment = app.backing.payment_of(&placed.id).await.unwrap();
    assert_eq!(payment.refund_id.as_deref(), Some("re_1"));
    // Two refunds Stripe failed, one it made: counted as such.
    let after = app.metrics().await;
    let refund_create = [r#"operation="refund_create""#];
    assert_added(&before, &after, "stripe_errors_total", &refund_create, 2.0);
    assert_added(&before, &after, "payments_refunded_total", &[], 1.0);

    let refunds = requests_to(mock, "/v1/refunds").await;
    assert_eq!(refunds.len(), 3, "two failures, then the refund");
    let keys: Vec<&str> = refunds
        .iter()
        .map(|request| request.headers["idempotency-key"].to_str().unwrap())
        .collect();
    assert!(keys.iter().all(|key| *key == "refund-ch_paid"), "{keys:?}");
    assert_eq!(form_pairs(&refunds[0].body), ["charge=ch_paid"]);
}
