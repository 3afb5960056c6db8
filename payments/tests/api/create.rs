//! `POST /api/payments`: the original's cases and the order of its checks.

use chrono::{TimeDelta, Utc};
use common::events::PaymentCreated;
use common::testing::events::{published, wait_for};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use crate::helpers::{assert_added, assert_errors, assert_message, spawn_app};

#[tokio::test]
async fn returns_a_404_when_purchasing_an_order_that_does_not_exist() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app
        .pay(&cookie, &ObjectId::new().to_hex(), "tok_visa")
        .await;
    assert_message(response, 404, "Not Found").await;
    assert!(app.backing.ledger().charges.is_empty());
}

#[tokio::test]
async fn returns_a_401_when_purchasing_an_order_that_doesnt_belong_to_the_user() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let (_, someone_else) = signed_in_user();
    let response = app.pay(&someone_else, &placed.id, "tok_visa").await;
    assert_message(response, 401, "Not authorized").await;
    assert!(app.backing.ledger().charges.is_empty());
}

#[tokio::test]
async fn returns_a_400_when_purchasing_a_cancelled_order() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    app.backing.cancel_and_wait(&placed.order).await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 400, "Cannot pay for an cancelled order").await;
    assert!(app.backing.ledger().charges.is_empty());
}

#[tokio::test]
async fn returns_a_201_with_valid_inputs() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let before = app.metrics().await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id"]);

    // Stripe has the charge: price * 100 cents, in usd.
    let ledger = app.backing.ledger();
    assert_eq!(ledger.charges.len(), 1);
    let charge = &ledger.charges[0];
    assert_eq!(
        (charge.amount, charge.currency.as_str(), charge.paid),
        (2000, "usd", true)
    );
    // A payment {orderId, stripeId} exists, and was announced.
    let payment = app.backing.payment_of(&placed.id).await.unwrap();
    assert_eq!(payment.id.to_hex(), body["id"].as_str().unwrap());
    assert_eq!(
        (payment.order_id.as_str(), payment.stripe_id.as_str()),
        (placed.id.as_str(), charge.id.as_str())
    );
    let events = wait_for::<PaymentCreated>(&app.backing.bus, 1).await;
    assert_eq!(events, [payment.created_event()]);
    assert!(ledger.refunds.is_empty());

    // One payment, one call to Stripe, timed, and nothing else counted.
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_succeeded_total", &[], 1.0);
    assert_added(&before, &after, "payments_declined_total", &[], 0.0);
    assert_added(&before, &after, "payments_refunded_total", &[], 0.0);
    let charge_create = [r#"operation="charge_create""#];
    let timed = "stripe_request_duration_seconds_count";
    assert_added(&before, &after, timed, &charge_create, 1.0);
    assert_added(&before, &after, timed, &[], 1.0);
    assert_added(&before, &after, "stripe_errors_total", &[], 0.0);
}

#[tokio::test]
async fn requires_a_session_before_anything_else() {
    let app = spawn_app().await;
    let response = app.post_payment(None, json!({})).await;
    assert_message(response, 401, "Not authorized").await;
}

#[tokio::test]
async fn reports_every_missing_field() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app.post_payment(Some(&cookie), json!({})).await;
    assert_errors(
        response,
        400,
        json!([
            { "message": "Invalid value", "field": "token" },
            { "message": "Invalid value", "field": "orderId" },
        ]),
    )
    .await;
    let response = app
        .post_payment(
            Some(&cookie),
            json!({ "token": "", "orderId": ObjectId::new().to_hex() }),
        )
        .await;
    assert_errors(
        response,
        400,
        json!([{ "message": "Invalid value", "field": "token" }]),
    )
    .await;
}

#[tokio::test]
async fn a_malformed_order_id_is_something_went_wrong() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app.pay(&cookie, "abc", "tok_visa").await;
    assert_message(response, 400, "Something went wrong").await;
}

#[tokio::test]
async fn an_expired_order_is_refused_before_stripe() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let order = app
        .backing
        .seed_order_expiring(&user_id, 20.0, Utc::now() - TimeDelta::seconds(1))
        .await;
    let response = app.pay(&cookie, &order.id, "tok_visa").await;
    assert_message(response, 400, "Order has expired").await;
    assert!(app.backing.ledger().charges.is_empty());
    assert!(app.backing.payment_of(&order.id).await.is_none());
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_payable() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let before = app.metrics().await;
    let response = app
        .pay(&placed.cookie, &placed.id, "tok_chargeDeclined")
        .await;
    assert_message(response, 400, "Your card was declined.").await;
    assert!(app.backing.payment_of(&placed.id).await.is_none());

    // The same card again gets the same answer; another card pays.
    let again = app
        .pay(&placed.cookie, &placed.id, "tok_chargeDeclined")
        .await;
    assert_message(again, 400, "Your card was declined.").await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_mastercard").await;
    assert_eq!(response.status().as_u16(), 201);
    let ledger = app.backing.ledger();
    assert_eq!(ledger.paid_charges().len(), 1);
    assert_eq!(ledger.charges.len(), 2, "the retried decline was replayed");
    assert!(app.backing.payment_of(&placed.id).await.is_some());

    // Each attempt declined is counted; a decline is the card's doing, not a Stripe error.
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_declined_total", &[], 2.0);
    assert_added(&before, &after, "payments_succeeded_total", &[], 1.0);
    assert_added(&before, &after, "stripe_errors_total", &[], 0.0);
}

#[tokio::test]
async fn an_unknown_card_token_is_a_bad_request_and_charges_nothing() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_bogus").await;
    assert_message(response, 400, "Something went wrong").await;
    assert!(app.backing.ledger().charges.is_empty());
    assert!(
        published::<PaymentCreated>(&app.backing.bus)
            .await
            .is_empty()
    );
}
