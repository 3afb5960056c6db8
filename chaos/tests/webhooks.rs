//! Paying in the browser through a crash: every payments replica is killed (SIGKILL) after
//! the buyer's PaymentIntent was made, and Stripe takes the money while none is up, so its
//! webhook finds nobody. Once payments is back, Stripe's retried webhook (or the reconciler)
//! completes the order: the payment is kept exactly once, never lost, never doubled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chaos::{Api, Fleet, FleetOptions, settle};
use reqwest::Method;
use serde_json::json;
use stripe_fake::IntentStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_made_while_payments_is_down_completes_the_order_once() {
    let options = FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "webhooks");
    let fleet = Fleet::start(options).await.unwrap();
    let api = Api::new(&fleet);
    let seller = api.new_user("webhooks.test").await.unwrap();
    let buyer = api.new_user("webhooks.test").await.unwrap();
    let ticket = api.ticket_on_sale(&fleet, &seller, 42.5).await.unwrap();
    let order = api.order(&buyer, &ticket).await.unwrap();
    let order_id = order.str("id").unwrap().to_owned();
    fleet
        .wait_for_document("payments", "orders", &order_id)
        .await
        .unwrap();
    let intent = api
        .answer(
            Method::POST,
            "/api/payments/intents",
            &buyer,
            Some(json!({ "orderId": order_id })),
        )
        .await;
    assert_eq!(intent.status, 201, "{}", intent.text);
    let intent_id = intent.str("id").unwrap().to_owned();
    let client_secret = intent.str("clientSecret").unwrap().to_owned();

    let payments: Vec<usize> = (0..fleet.replicas("payments").count())
        .map(|replica| fleet.index_of("payments", replica).unwrap())
        .collect();
    for &index in &payments {
        fleet.kill(index).await.unwrap();
    }
    // The buyer's browser confirms with Stripe (publishable key and client secret) meanwhile.
    let confirmed = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{intent_id}/confirm",
            fleet.stripe_url()
        ))
        .form(&[
            ("key", "pk_test_chaos"),
            ("client_secret", client_secret.as_str()),
            ("payment_method", "pm_card_visa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    // Stripe tries the webhook while payments is down, and keeps trying.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fleet
        .stripe()
        .events()
        .iter()
        .any(|event| event.payment_intent == intent_id && event.attempts >= 2 && !event.delivered)
    {
        assert!(Instant::now() < deadline, "the webhook was never tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for &index in &payments {
        fleet.restart(index).await.unwrap();
    }

    let path = format!("/api/orders/{order_id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = api.answer(Method::GET, &path, &buyer, None).await;
        if shown.str("status") == Some("complete") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the order never completed: {} (logs: {})",
            shown.text,
            fleet.log().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let snapshot = settle(&fleet, Duration::from_secs(60)).await.unwrap();
    snapshot.assert_holds(&fleet, "once the fleet is quiet");
    let ledger = fleet.stripe().snapshot();
    let paid = ledger.intent(&intent_id).unwrap();
    assert_eq!(paid.status, IntentStatus::Succeeded);
    let charge = paid.latest_charge.clone().unwrap();
    assert!(
        ledger.refunds_of(&charge).is_empty(),
        "{:?}",
        ledger.refunds
    );
    assert_eq!(ledger.kept_charges().len(), 1);
}
