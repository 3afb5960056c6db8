//! `POST /api/payments/intents`: one PaymentIntent per order, refused as a payment is.

use chrono::{TimeDelta, Utc};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use crate::helpers::{Backing, assert_errors, assert_message, oid, spawn_app};

#[tokio::test]
async fn an_order_gets_one_intent_however_often_it_is_asked() {
    let app = spawn_app().await;
    let placed = app.place_order(19.99).await;
    let first = app.post_intent(Some(&placed.cookie), &placed.id).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["clientSecret", "id"]);
    // Asked again (a reload, many reloads): the same, and no attempt counted against the
    // limit of five per order.
    for _ in 0..8 {
        let again = app.post_intent(Some(&placed.cookie), &placed.id).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["cache-control"], "no-store");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
    }

    // One intent at Stripe: the order's price in cents, in dollars, any method, naming it.
    let ledger = app.backing.ledger();
    assert_eq!(ledger.intents.len(), 1, "{:?}", ledger.intents);
    let intent = &ledger.intents[0];
    assert_eq!(intent.id, first["id"].as_str().unwrap());
    assert_eq!(
        intent.client_secret,
        first["clientSecret"].as_str().unwrap()
    );
    assert_eq!((intent.amount, intent.currency.as_str()), (1999, "usd"));
    assert!(intent.automatic_payment_methods);
    assert_eq!(intent.metadata["orderId"], placed.id);
    assert_eq!(
        intent.idempotency_key.as_deref(),
        Some(format!("intent-{}", placed.id).as_str())
    );
    // Recorded before the answer, and nothing charged yet.
    let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
    assert_eq!(
        stored.unwrap().intent_id.as_deref(),
        Some(intent.id.as_str())
    );
    assert!(ledger.charges.is_empty());
}

#[tokio::test]
async fn intents_are_refused_as_payments_are() {
    let app = spawn_app().await;
    let response = app.post_intent(None, &ObjectId::new().to_hex()).await;
    assert_message(response, 401, "Not authorized").await;

    let (user_id, cookie) = signed_in_user();
    let response = app
        .post(
            "/api/payments/intents",
            Some(&cookie),
            &json!({ "orderId": "" }),
        )
        .await;
    assert_errors(
        response,
        400,
        json!([{ "message": "Invalid value", "field": "orderId" }]),
    )
    .await;
    let response = app.post_intent(Some(&cookie), "abc").await;
    assert_message(response, 400, "Something went wrong").await;
    let response = app
        .post_intent(Some(&cookie), &ObjectId::new().to_hex())
        .await;
    assert_message(response, 404, "Not Found").await;

    let placed = app.place_order(20.0).await;
    let response = app.post_intent(Some(&cookie), &placed.id).await;
    assert_message(response, 401, "Not authorized").await;

    app.backing.cancel_and_wait(&placed.order).await;
    let response = app.post_intent(Some(&placed.cookie), &placed.id).await;
    assert_message(response, 400, "Cannot pay for an cancelled order").await;

    let expired = app
        .backing
        .seed_order_expiring(&user_id, 20.0, Utc::now() - TimeDelta::seconds(1))
        .await;
    let response = app.post_intent(Some(&cookie), &expired.id).await;
    assert_message(response, 400, "Order has expired").await;

    let paid = app.place_order(20.0).await;
    assert_eq!(
        app.pay(&paid.cookie, &paid.id, "tok_visa").await.status(),
        201
    );
    let response = app.post_intent(Some(&paid.cookie), &paid.id).await;
    assert_message(response, 400, "Order has already been paid").await;

    assert!(app.backing.ledger().intents.is_empty());
}

#[tokio::test]
async fn without_a_webhook_secret_there_are_no_intents_and_no_webhook() {
    let backing = Backing::new().await;
    let mut config = backing.config();
    config.stripe.webhook_secret = None;
    let app = backing.spawn_with(config).await;
    let placed = app.place_order(20.0).await;
    let response = app.post_intent(Some(&placed.cookie), &placed.id).await;
    assert_message(response, 404, "Not Found").await;
    let response = app.post_webhook("{}", Some("t=1,v1=00")).await;
    assert_message(response, 404, "Not Found").await;
    assert!(app.backing.ledger().intents.is_empty());
}
