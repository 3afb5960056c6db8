//! No money without a ticket: a payment racing a cancellation ends in exactly one of the two
//! legal outcomes, never paid-and-cancelled, never refunded twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::events::{OrderStatus, PaymentCreated};
use common::testing::events::published;
use payments::models::AttemptState;

use crate::helpers::{
    Backing, Placed, QUICK_RECONCILER, TestApp, charges_for, spawn_app, status_and_message,
};

const CANCELLED: &str = "Cannot pay for an cancelled order";

/// Checks what is stored, published and charged for an order the orders service cancelled:
/// every charge refunded exactly once, and a payment recorded only if the request said 201.
async fn assert_cancelled_and_refunded(backing: &Backing, placed: &Placed, paid: bool) {
    let replica = backing.replica(&placed.id).await.unwrap();
    assert_eq!(replica.status, OrderStatus::Cancelled);
    let ledger = backing.ledger();
    let charges = charges_for(&ledger, &placed.id);
    assert!(charges.len() <= 1, "{charges:?}");
    for charge in &charges {
        assert_eq!(
            ledger.refunds_of(&charge.id).len(),
            1,
            "refunded exactly once"
        );
    }
    let payment = backing.payment_of(&placed.id).await;
    let events: Vec<PaymentCreated> = published::<PaymentCreated>(&backing.bus)
        .await
        .into_iter()
        .filter(|event| event.order_id == placed.id)
        .collect();
    if paid {
        let payment = payment.expect("a 201 recorded a payment");
        assert!(payment.refunded_at.is_some(), "the payment was refunded");
        assert_eq!(charges.len(), 1);
        assert_eq!(payment.stripe_id, charges[0].id);
        assert_eq!(events, [payment.created_event()]);
    } else {
        assert!(payment.is_none(), "no payment without a 201");
        assert!(events.is_empty(), "no payment:created without a payment");
    }
    for attempt in backing.attempts_for(&placed.id).await {
        assert_ne!(attempt.state, AttemptState::Pending, "{attempt:?}");
        assert_eq!(attempt.token, None);
    }
}

#[tokio::test]
async fn a_cancellation_racing_a_payment_never_keeps_the_money() {
    // The reconciler runs too: its sweep of cancelled orders races the listener's refunds.
    let backing = Backing::new().await;
    let mut config = backing.config();
    config.reconciler = QUICK_RECONCILER;
    let app = backing.spawn_with(config).await;
    // How long the cancellation is published after (negative: before) the payment is sent:
    // from "cancelled before the order is checked" to "cancelled after the payment is kept".
    let offsets_ms: [i64; 6] = [-10, -2, 0, 4, 8, 12];
    let mut outcomes = (0, 0);
    for round in 0..12 {
        let placed = app.place_order(20.0).await;
        let offset = offsets_ms[round % offsets_ms.len()];
        let delay = |ms: i64| Duration::from_millis(ms.max(0).unsigned_abs());
        let (response, ()) = tokio::join!(
            async {
                tokio::time::sleep(delay(-offset)).await;
                app.pay(&placed.cookie, &placed.id, "tok_visa").await
            },
            async {
                tokio::time::sleep(delay(offset)).await;
                app.backing.cancel(&placed.order, 1).await;
            }
        );
        let (status, message) = status_and_message(response).await;
        app.backing.settled().await;
        let paid = match (status, message.as_str()) {
            (201, _) => true,
            (400, CANCELLED) => false,
            other => panic!("round {round}: unexpected answer {other:?}"),
        };
        if paid {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
        assert_cancelled_and_refunded(&app.backing, &placed, paid).await;
    }
    assert_eq!(outcomes.0 + outcomes.1, 12, "{outcomes:?}");
}

/// The orders service's view of an order, as it decides: the first of "payment received" and
/// "user cancelled" wins (a complete order cannot be cancelled; a payment for a cancelled
/// order is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Open,
    Complete,
    Cancelled,
}

/// Plays the orders service for one order: completes it when `payment:created` arrives, unless
/// the user's cancellation came first.
async fn complete_on_payment(app: &TestApp, placed: &Placed, fate: Arc<Mutex<Fate>>) {
    for _ in 0..400 {
        if *fate.lock().unwrap() != Fate::Open {
            return;
        }
        if app.backing.payment_of(&placed.id).await.is_some()
            && published::<PaymentCreated>(&app.backing.bus)
                .await
                .iter()
                .any(|event| event.order_id == placed.id)
        {
            let mut fate = fate.lock().unwrap();
            if *fate == Fate::Open {
                *fate = Fate::Complete;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn paying_and_cancelling_at_once_ends_paid_or_cancelled_and_refunded() {
    let app = spawn_app().await;
    let mut fates = Vec::new();
    for round in 0..10_u64 {
        let placed = app.place_order(42.0).await;
        let fate = Arc::new(Mutex::new(Fate::Open));
        let delay = Duration::from_millis((round % 5) * 15);
        let (response, (), ()) = tokio::join!(
            app.pay(&placed.cookie, &placed.id, "tok_visa"),
            async {
                tokio::time::sleep(delay).await;
                let cancel = {
                    let mut fate = fate.lock().unwrap();
                    let open = *fate == Fate::Open;
                    if open {
                        *fate = Fate::Cancelled;
                    }
                    open
                };
                if cancel {
                    app.backing.cancel(&placed.order, 1).await;
                }
            },
            complete_on_payment(&app, &placed, fate.clone()),
        );
        let (status, message) = status_and_message(response).await;
        app.backing.settled().await;
        let fate = *fate.lock().unwrap();
        fates.push(fate);
        match fate {
            Fate::Complete => {
                // Paid, and the order completes: the money is kept, once.
                assert_eq!(status, 201, "round {round}: {message}");
                let payment = app.backing.payment_of(&placed.id).await.unwrap();
                assert_eq!(payment.refunded_at, None);
                let replica = app.backing.replica(&placed.id).await.unwrap();
                assert_eq!(replica.status, OrderStatus::Created);
                let ledger = app.backing.ledger();
                let charges = charges_for(&ledger, &placed.id);
                assert_eq!(charges.len(), 1);
                assert_eq!(charges[0].id, payment.stripe_id);
                assert!(ledger.refunds_of(&payment.stripe_id).is_empty());
            }
            Fate::Cancelled => {
                let paid = match (status, message.as_str()) {
                    (201, _) => true,
                    (400, CANCELLED) => false,
                    other => panic!("round {round}: unexpected answer {other:?}"),
                };
                assert_cancelled_and_refunded(&app.backing, &placed, paid).await;
            }
            Fate::Open => panic!("round {round}: the order was neither paid nor cancelled"),
        }
    }
    assert_eq!(fates.len(), 10);
}
