//! `POST /api/payments/webhook`: Stripe's signed events settle the intents, once each, and the
//! reconciler settles the ones whose event never came.

use common::events::{OrderStatus, PaymentCreated};
use common::testing::events::{eventually, wait_for};
use mongodb::bson::{Document, doc};
use payments::models::IntentState;
use serde_json::{Value, json};
use stripe_webhook::Webhook;

use crate::helpers::{
    Backing, WEBHOOK_SECRET, assert_added, assert_message, oid, reconciling_app, refund_json,
    requests_to, spawn_app, spawn_app_with_mock, stripe_answers, stripe_error,
};

/// Stripe's event for a paid intent.
const SUCCEEDED: &str = "payment_intent.succeeded";

#[tokio::test]
async fn a_signed_succeeded_event_pays_the_order_once() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let before = app.metrics().await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    let event = app.event_of(&intent, SUCCEEDED);

    let response = app.deliver(&event).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "received": true })
    );
    let payment = app.backing.payment_of(&placed.id).await.unwrap();
    assert_eq!(payment.stripe_id, intent);
    let events = wait_for::<PaymentCreated>(&app.backing.bus, 1).await;
    assert_eq!(events, [payment.created_event()]);
    let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
    let stored = stored.unwrap();
    assert_eq!(stored.state, IntentState::Recorded);
    assert_eq!(
        stored.client_secret, None,
        "the secret is forgotten once paid"
    );

    // The same event again, and another event about the same intent: no second effect.
    assert_eq!(app.deliver(&event).await.status(), 200);
    let mut other = event.clone();
    other["id"] = json!("evt_another_delivery");
    assert_eq!(app.deliver(&other).await.status(), 200);
    // An older event arriving after it (out of order) undoes nothing.
    let mut stale = event.clone();
    stale["id"] = json!("evt_stale_failure");
    stale["type"] = json!("payment_intent.payment_failed");
    assert_eq!(app.deliver(&stale).await.status(), 200);
    assert_eq!(app.backing.payment_of(&placed.id).await.unwrap(), payment);
    assert_eq!(app.backing.payments.all().await.unwrap().len(), 1);
    assert!(app.backing.ledger().refunds.is_empty());
    // Paid: no other intent or payment is taken for it.
    let response = app.post_intent(Some(&placed.cookie), &placed.id).await;
    assert_message(response, 400, "Order has already been paid").await;

    let after = app.metrics().await;
    assert_added(&before, &after, "payments_succeeded_total", &[], 1.0);
    assert_added(&before, &after, "payments_refunded_total", &[], 0.0);
    let made = [r#"operation="payment_intent_create""#];
    let timed = "stripe_request_duration_seconds_count";
    assert_added(&before, &after, timed, &made, 1.0);
}

#[tokio::test]
async fn anything_not_signed_by_stripe_now_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    let payload = app.event_of(&intent, SUCCEEDED).to_string();
    let now = chrono::Utc::now().timestamp();
    let signed = |secret: &str, at: i64| Webhook::generate_test_header(&payload, secret, Some(at));

    let refusals = [
        (None, "Missing Stripe-Signature header"),
        (Some("garbage".to_owned()), "Invalid signature"),
        (Some(signed("whsec_someone_else", now)), "Invalid signature"),
        (
            Some(signed(WEBHOOK_SECRET, now - 301)),
            "Signature timestamp too old",
        ),
        (
            Some(signed(WEBHOOK_SECRET, now + 301)),
            "Signature timestamp too old",
        ),
    ];
    for (signature, message) in refusals {
        let response = app.post_webhook(&payload, signature.as_deref()).await;
        assert_message(response, 400, message).await;
    }
    // A body changed after signing.
    let tampered = payload.replace("\"amount\":2000", "\"amount\":1");
    assert_ne!(tampered, payload);
    let response = app
        .post_webhook(&tampered, Some(&signed(WEBHOOK_SECRET, now)))
        .await;
    assert_message(response, 400, "Invalid signature").await;
    assert!(app.backing.payment_of(&placed.id).await.is_none());

    // Several v1 values (a secret being rolled): one of them is enough.
    let good = signed(WEBHOOK_SECRET, now);
    let v1 = good.split(",v1=").nth(1).unwrap();
    let rolled = format!("t={now},v1={},v1={v1}", "0".repeat(64));
    assert_eq!(
        app.post_webhook(&payload, Some(&rolled)).await.status(),
        200
    );
    assert!(app.backing.payment_of(&placed.id).await.is_some());
}

#[tokio::test]
async fn failed_and_unhandled_events_change_nothing() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    let before = app.metrics().await;
    app.confirm(&intent, "pm_card_chargeDeclined");
    let failed = app.event_of(&intent, "payment_intent.payment_failed");
    assert_eq!(app.deliver(&failed).await.status(), 200);
    // Delivered again: the decline was counted once.
    assert_eq!(app.deliver(&failed).await.status(), 200);
    assert_added(
        &before,
        &app.metrics().await,
        "payments_declined_total",
        &[],
        1.0,
    );
    // The failure of an intent made elsewhere on the account is not this service's.
    let mut foreign = failed.clone();
    foreign["id"] = json!("evt_foreign_failure");
    foreign["data"]["object"]["id"] = json!("pi_made_elsewhere");
    assert_eq!(app.deliver(&foreign).await.status(), 200);
    app.confirm(&intent, "pm_card_authenticationRequired");
    let action = app.event_of(&intent, "payment_intent.requires_action");
    assert_eq!(app.deliver(&action).await.status(), 200);
    // A type this service does not handle.
    let mut created = action.clone();
    created["id"] = json!("evt_created");
    created["type"] = json!("payment_intent.created");
    assert_eq!(app.deliver(&created).await.status(), 200);

    assert!(app.backing.payment_of(&placed.id).await.is_none());
    // Still payable, with the same intent.
    assert_eq!(app.intent_for(&placed.cookie, &placed.id).await, intent);
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_declined_total", &[], 1.0);
    assert_added(&before, &after, "payments_succeeded_total", &[], 0.0);
}

#[tokio::test]
async fn a_paid_intent_the_order_cannot_take_is_refunded_once() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    let before = app.metrics().await;
    // Paid in the browser just as the order was cancelled: its webhook comes after.
    app.confirm(&intent, "pm_card_visa");
    app.backing.cancel_and_wait(&placed.order).await;
    let event = app.event_of(&intent, SUCCEEDED);
    assert_eq!(app.deliver(&event).await.status(), 200);
    assert_eq!(app.deliver(&event).await.status(), 200);
    // Refunded once, whether the cancellation's listener or the webhook came first.
    app.backing.settled().await;
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_refunded_total", &[], 1.0);
    assert_added(&before, &after, "payments_succeeded_total", &[], 0.0);

    let ledger = app.backing.ledger();
    let charge = ledger
        .intent(&intent)
        .unwrap()
        .latest_charge
        .clone()
        .unwrap();
    assert_eq!(ledger.refunds_of(&charge).len(), 1, "{:?}", ledger.refunds);
    assert!(ledger.kept_charges().is_empty());
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
    assert_eq!(stored.unwrap().state, IntentState::Refunded);
}

#[tokio::test]
async fn an_intent_paid_for_another_amount_is_refunded() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    let mut event = app.event_of(&intent, SUCCEEDED);
    event["data"]["object"]["amount_received"] = json!(1000);
    assert_eq!(app.deliver(&event).await.status(), 200);
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    assert!(app.backing.ledger().kept_charges().is_empty());
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!(
        (replica.status, replica.payment),
        (OrderStatus::Created, None)
    );
}

#[tokio::test]
async fn an_event_whose_order_is_not_in_the_replica_is_refused_until_it_is() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    // The replica lost the order (restored from an older backup, say).
    let replica = app.backing.database().collection::<Document>("orders");
    replica
        .delete_one(doc! { "_id": oid(&placed.id) })
        .await
        .unwrap();
    let event = app.event_of(&intent, SUCCEEDED);
    assert_eq!(app.deliver(&event).await.status(), 503);
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    // Stripe delivers again once the order is back: nothing was lost.
    app.backing.publish(&placed.order).await;
    eventually("the replica has the order again", || async {
        app.backing.replica(&placed.id).await.is_some()
    })
    .await;
    assert_eq!(app.deliver(&event).await.status(), 200);
    assert_eq!(
        app.backing.payment_of(&placed.id).await.unwrap().stripe_id,
        intent
    );
}

#[tokio::test]
async fn only_intents_this_service_made_pay_and_only_for_their_own_order() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let other = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    let event = app.event_of(&intent, SUCCEEDED);

    // An intent made elsewhere on the account (the dashboard, another app) naming an order.
    let mut foreign = event.clone();
    foreign["id"] = json!("evt_foreign");
    foreign["data"]["object"]["id"] = json!("pi_made_elsewhere");
    foreign["data"]["object"]["metadata"]["orderId"] = json!(other.id);
    assert_eq!(app.deliver(&foreign).await.status(), 200);
    assert!(app.backing.payment_of(&other.id).await.is_none());

    // Our intent, its metadata edited to name another order: it pays its own.
    let mut redirected = event.clone();
    redirected["data"]["object"]["metadata"]["orderId"] = json!(other.id);
    assert_eq!(app.deliver(&redirected).await.status(), 200);
    assert!(app.backing.payment_of(&other.id).await.is_none());
    assert_eq!(
        app.backing.payment_of(&placed.id).await.unwrap().stripe_id,
        intent
    );
    assert!(app.backing.ledger().refunds.is_empty());
}

#[tokio::test]
async fn cancelling_the_order_cancels_its_intent_at_stripe() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.backing.cancel_and_wait(&placed.order).await;
    eventually("the intent is cancelled at Stripe", || async {
        app.backing.ledger().intent(&intent).unwrap().status == stripe_fake::IntentStatus::Canceled
    })
    .await;
    eventually("and recorded so", || async {
        let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
        stored.unwrap().state == IntentState::Cancelled
    })
    .await;
    // The buyer's browser can no longer pay it.
    let paid = app
        .backing
        .stand_in()
        .confirm_intent(&intent, "pm_card_visa");
    assert_eq!(paid.status, 400, "{}", paid.body);
    assert!(app.backing.ledger().charges.is_empty());
}

#[tokio::test]
async fn the_reconciler_settles_a_paid_intent_whose_webhook_never_came() {
    let app = reconciling_app(&Backing::new().await).await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    eventually("the reconciler recorded the payment", || async {
        app.backing.payment_of(&placed.id).await.is_some()
    })
    .await;
    assert_eq!(
        app.backing.payment_of(&placed.id).await.unwrap().stripe_id,
        intent
    );
    let events = wait_for::<PaymentCreated>(&app.backing.bus, 1).await;
    assert_eq!(events.len(), 1);
    // The webhook arriving late changes nothing.
    assert_eq!(
        app.deliver(&app.event_of(&intent, SUCCEEDED))
            .await
            .status(),
        200
    );
    assert_eq!(app.backing.payments.all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_reconciler_cancels_an_unpaid_intent_whose_order_went_away() {
    let app = reconciling_app(&Backing::new().await).await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.backing.cancel_and_wait(&placed.order).await;
    eventually("the intent is cancelled", || async {
        let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
        stored.unwrap().state == IntentState::Cancelled
    })
    .await;
    let ledger = app.backing.ledger();
    assert_eq!(
        ledger.intent(&intent).unwrap().status,
        stripe_fake::IntentStatus::Canceled
    );
    assert!(ledger.charges.is_empty());
}

#[tokio::test]
async fn a_signed_event_this_sdk_cannot_read_is_settled_from_stripe() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let intent = app.intent_for(&placed.cookie, &placed.id).await;
    app.confirm(&intent, "pm_card_visa");
    // Another API version's shape: a field this SDK requires is missing.
    let mut event = app.event_of(&intent, SUCCEEDED);
    let object = event["data"]["object"].as_object_mut().unwrap();
    assert!(object.remove("capture_method").is_some());
    assert_eq!(app.deliver(&event).await.status(), 200);
    // Looked up at Stripe: paid, so the order is.
    assert_eq!(
        app.backing.payment_of(&placed.id).await.unwrap().stripe_id,
        intent
    );
    // Signed, but no event at all.
    let response = app.deliver(&json!({ "hello": "world" })).await;
    assert_message(response, 400, "Not a Stripe event").await;
}

#[tokio::test]
async fn a_refund_stripe_does_not_answer_leaves_the_event_for_redelivery() {
    let app = spawn_app_with_mock().await;
    let placed = app.place_order(20.0).await;
    // A genuine intent and its event, minted by the stand-in, which this wiremock Stripe
    // then answers with.
    let minted = stripe_fake::StripeFake::start().await.unwrap();
    let http = reqwest::Client::new();
    let made: Value = http
        .post(format!("{}/v1/payment_intents", minted.base_url()))
        .bearer_auth("sk_test_minting")
        .form(&[
            ("amount", "2000"),
            ("currency", "usd"),
            ("automatic_payment_methods[enabled]", "true"),
            ("metadata[orderId]", placed.id.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let intent = made["id"].as_str().unwrap().to_owned();
    let mock = app.backing.mock();
    stripe_answers(mock, "/v1/payment_intents", 200, made, None).await;
    assert_eq!(app.intent_for(&placed.cookie, &placed.id).await, intent);
    minted.confirm_intent(&intent, "pm_card_visa");
    let mut event = minted
        .events()
        .into_iter()
        .find(|event| event.payload["type"] == SUCCEEDED)
        .unwrap()
        .payload;
    // Paid for another amount: it must be refunded, and Stripe fails the refund.
    event["data"]["object"]["amount_received"] = json!(1000);
    stripe_answers(
        mock,
        "/v1/refunds",
        500,
        stripe_error("api_error", "down"),
        Some(1),
    )
    .await;
    let before = app.metrics().await;
    assert_eq!(app.deliver(&event).await.status(), 503);
    let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
    assert_eq!(stored.unwrap().state, IntentState::Open);
    let refund_create = [r#"operation="refund_create""#];
    let failed = app.metrics().await;
    assert_added(&before, &failed, "stripe_errors_total", &refund_create, 1.0);
    assert_added(&before, &failed, "payments_refunded_total", &[], 0.0);

    // Stripe delivers it again; the refund goes through this time.
    let charge = event["data"]["object"]["latest_charge"].as_str().unwrap();
    let refund = refund_json("re_mock", charge, 1000);
    stripe_answers(mock, "/v1/refunds", 200, refund, None).await;
    assert_eq!(app.deliver(&event).await.status(), 200);
    let stored = app.backing.payments.intent(oid(&placed.id)).await.unwrap();
    assert_eq!(stored.unwrap().state, IntentState::Refunded);
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    let refunds = requests_to(mock, "/v1/refunds").await;
    assert_eq!(refunds.len(), 2, "one failed, one made");
    assert_added(
        &before,
        &app.metrics().await,
        "payments_refunded_total",
        &[],
        1.0,
    );
}
