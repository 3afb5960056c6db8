//! At most one payment per order (docs/decisions.md #10), whether the second attempt comes after
//! the first or races it.

use std::collections::HashSet;

use common::events::PaymentCreated;
use common::testing::events::published;
use futures::future::join_all;

use crate::helpers::{
    Placed, TestApp, assert_added, assert_message, charges_for, spawn_app, status_and_message,
};

#[tokio::test]
async fn a_paid_order_is_refused_without_reaching_stripe() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let first = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(first.status().as_u16(), 201);

    for token in ["tok_visa", "tok_mastercard"] {
        let again = app.pay(&placed.cookie, &placed.id, token).await;
        assert_message(again, 400, "Order has already been paid").await;
    }
    assert_eq!(app.backing.ledger().charges.len(), 1);
    app.backing.settled().await;
    assert_eq!(published::<PaymentCreated>(&app.backing.bus).await.len(), 1);
}

/// Sends one payment per token at once; the statuses and 400 messages.
async fn pay_at_once(app: &TestApp, placed: &Placed, tokens: &[&str]) -> Vec<(u16, String)> {
    let responses = join_all(
        tokens
            .iter()
            .map(|token| app.pay(&placed.cookie, &placed.id, token)),
    )
    .await;
    let mut answers = Vec::new();
    for response in responses {
        answers.push(status_and_message(response).await);
    }
    answers
}

#[tokio::test]
async fn racing_cards_pay_once_and_every_extra_charge_is_refunded_once() {
    let app = spawn_app().await;
    let tokens = [
        "tok_visa",
        "tok_mastercard",
        "tok_amex",
        "tok_discover",
        "tok_jcb",
    ];
    let before = app.metrics().await;
    let mut extra_charges = 0;
    for _ in 0..3 {
        let placed = app.place_order(35.5).await;
        let answers = pay_at_once(&app, &placed, &tokens).await;
        let created = answers.iter().filter(|(status, _)| *status == 201).count();
        assert_eq!(created, 1, "{answers:?}");
        for (status, message) in &answers {
            if *status != 201 {
                assert_eq!(
                    (*status, message.as_str()),
                    (400, "Order has already been paid")
                );
            }
        }
        let payment = app.backing.payment_of(&placed.id).await.unwrap();

        let ledger = app.backing.ledger();
        let charges = charges_for(&ledger, &placed.id);
        let keys: HashSet<_> = charges
            .iter()
            .map(|charge| &charge.idempotency_key)
            .collect();
        assert_eq!(keys.len(), charges.len(), "one charge per key");
        extra_charges += charges.len() - 1;
        for charge in &charges {
            let refunds = ledger.refunds_of(&charge.id).len();
            if charge.id == payment.stripe_id {
                assert_eq!(refunds, 0, "the payment is kept");
            } else {
                assert_eq!(refunds, 1, "an extra charge is refunded once");
            }
        }
    }
    app.backing.settled().await;
    assert_eq!(published::<PaymentCreated>(&app.backing.bus).await.len(), 3);
    let after = app.metrics().await;
    assert_added(&before, &after, "payments_succeeded_total", &[], 3.0);
    let refunded = extra_charges as f64;
    assert_added(&before, &after, "payments_refunded_total", &[], refunded);
}

#[tokio::test]
async fn the_same_card_sent_at_once_is_charged_once() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    let answers = pay_at_once(&app, &placed, &["tok_visa"; 5]).await;
    assert_eq!(
        answers.iter().filter(|(status, _)| *status == 201).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|answer| answer.0 == 201
                || *answer == (400, "Order has already been paid".to_owned())),
        "{answers:?}"
    );
    let ledger = app.backing.ledger();
    assert_eq!(ledger.charges.len(), 1);
    assert!(ledger.refunds.is_empty());
}
