//! Crashes and lost answers between Stripe and the database: the reconciler settles every
//! charge attempt left open, with the same idempotency key, so nothing is charged twice and no
//! money is kept without a paid order.

use common::events::{OrderStatus, PaymentCreated};
use common::testing::events::{eventually, published, wait_for};
use payments::config::Failpoints;
use payments::models::AttemptState;

use crate::helpers::{
    Backing, assert_added, assert_message, charge_json, oid, reconciling_app, refund_json,
    requests_to, stripe_answers, stripe_error,
};

/// A replica whose requests "crash" right after Stripe charged the card.
async fn crashing_app(backing: &Backing) -> crate::helpers::TestApp {
    let mut config = backing.config();
    config.failpoints = Failpoints {
        crash_after_charge: true,
    };
    backing.spawn_with(config).await
}

#[tokio::test]
async fn a_charge_whose_recording_crashed_becomes_the_payment() {
    let backing = Backing::new().await;
    let crashing = crashing_app(&backing).await;
    let placed = crashing.place_order(20.0).await;
    let before = crashing.metrics().await;
    let response = crashing.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 500, "Something went wrong").await;
    assert_eq!(backing.ledger().paid_charges().len(), 1);
    assert!(backing.payment_of(&placed.id).await.is_none());
    let attempts = backing.attempts_for(&placed.id).await;
    assert_eq!(attempts[0].state, AttemptState::Pending);

    let _healthy = reconciling_app(&backing).await;
    let events = wait_for::<PaymentCreated>(&backing.bus, 1).await;
    let payment = backing.payment_of(&placed.id).await.unwrap();
    assert_eq!(events, [payment.created_event()]);
    let ledger = backing.ledger();
    assert_eq!(
        ledger.paid_charges().len(),
        1,
        "the replay charged nothing more"
    );
    assert_eq!(payment.stripe_id, ledger.charges[0].id);
    assert!(ledger.refunds.is_empty());
    let attempt = &backing.attempts_for(&placed.id).await[0];
    assert_eq!(attempt.state, AttemptState::Recorded);
    assert_eq!(attempt.token, None);

    // The user, told it failed, tries again: the order is paid.
    let again = crashing.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(again, 400, "Order has already been paid").await;
    // Counted once, by the replay that recorded it.
    let after = crashing.metrics().await;
    assert_added(&before, &after, "payments_succeeded_total", &[], 1.0);
}

#[tokio::test]
async fn a_charge_whose_recording_crashed_is_refunded_if_the_order_was_cancelled_since() {
    let backing = Backing::new().await;
    let crashing = crashing_app(&backing).await;
    let placed = crashing.place_order(20.0).await;
    let response = crashing.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 500, "Something went wrong").await;
    backing.cancel_and_wait(&placed.order).await;

    let _healthy = reconciling_app(&backing).await;
    eventually("the attempt is settled", || async {
        backing.attempts_for(&placed.id).await[0].state == AttemptState::Refunded
    })
    .await;
    let ledger = backing.ledger();
    assert_eq!(ledger.paid_charges().len(), 1);
    assert_eq!(ledger.refunds_of(&ledger.charges[0].id).len(), 1);
    assert!(ledger.kept_charges().is_empty());
    assert!(backing.payment_of(&placed.id).await.is_none());
    backing.settled().await;
    assert!(published::<PaymentCreated>(&backing.bus).await.is_empty());
}

#[tokio::test]
async fn a_charge_stripe_failed_to_answer_is_settled_once_stripe_answers() {
    let backing = Backing::with_mock().await;
    let mock = backing.mock();
    let failure = stripe_error("api_error", "An unknown error occurred");
    stripe_answers(mock, "/v1/charges", 500, failure, Some(1)).await;
    stripe_answers(mock, "/v1/charges", 200, charge_json("ch_late", 2000), None).await;
    let app = reconciling_app(&backing).await;
    let placed = app.place_order(20.0).await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 500, "Something went wrong").await;

    eventually("the reconciler recorded the payment", || async {
        backing.payment_of(&placed.id).await.is_some()
    })
    .await;
    assert_eq!(
        backing.payment_of(&placed.id).await.unwrap().stripe_id,
        "ch_late"
    );
    let charges = requests_to(mock, "/v1/charges").await;
    assert_eq!(charges.len(), 2);
    assert_eq!(
        charges[0].headers["idempotency-key"], charges[1].headers["idempotency-key"],
        "the replay carries the same key"
    );
    assert_eq!(charges[0].body, charges[1].body, "and the same parameters");
}

#[tokio::test]
async fn a_missed_refund_of_a_cancelled_order_is_made_by_the_sweep() {
    let backing = Backing::with_mock().await;
    let mock = backing.mock();
    stripe_answers(mock, "/v1/charges", 200, charge_json("ch_kept", 2000), None).await;
    let refund = refund_json("re_swept", "ch_kept", 2000);
    stripe_answers(mock, "/v1/refunds", 200, refund, None).await;
    let app = backing.spawn_app().await;
    let placed = app.place_order(20.0).await;
    assert_eq!(
        app.pay(&placed.cookie, &placed.id, "tok_visa")
            .await
            .status()
            .as_u16(),
        201
    );
    // The cancellation reached the replica, but its event was parked before the refund.
    backing
        .orders
        .cancel_from_event(oid(&placed.id), 1)
        .await
        .unwrap();
    assert_eq!(
        backing.replica(&placed.id).await.unwrap().status,
        OrderStatus::Cancelled
    );

    let _reconciling = reconciling_app(&backing).await;
    eventually("the payment is refunded", || async {
        backing
            .payment_of(&placed.id)
            .await
            .is_some_and(|payment| payment.refund_id.as_deref() == Some("re_swept"))
    })
    .await;
    assert_eq!(requests_to(mock, "/v1/refunds").await.len(), 1);
}
