//! Two replicas of the service sharing one database, one bus namespace and one Stripe.

use std::collections::HashSet;

use common::events::{OrderStatus, PaymentCreated};
use common::testing::events::{published, wait_for};

use crate::helpers::Backing;

#[tokio::test]
async fn two_replicas_apply_each_event_once_and_pay_each_order_once() {
    let backing = Backing::new().await;
    let first = backing.spawn_app().await;
    let second = backing.spawn_app().await;

    let mut orders = Vec::new();
    for index in 0..8 {
        let app = if index % 2 == 0 { &first } else { &second };
        orders.push(app.place_order(10.0 + f64::from(index)).await);
    }
    // Pay half of them through alternating replicas; cancel the other half, the cancellation
    // sent twice.
    for (index, placed) in orders.iter().enumerate() {
        if index % 2 == 0 {
            let app = if index % 4 == 0 { &first } else { &second };
            let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
            assert_eq!(response.status().as_u16(), 201);
        } else {
            backing.cancel(&placed.order, 1).await;
            backing.cancel(&placed.order, 1).await;
        }
    }
    wait_for::<PaymentCreated>(&backing.bus, orders.len() / 2).await;
    backing.settled().await;

    for (index, placed) in orders.iter().enumerate() {
        let replica = backing.replica(&placed.id).await.unwrap();
        if index % 2 == 0 {
            assert_eq!((replica.status, replica.version), (OrderStatus::Created, 0));
            assert!(backing.payment_of(&placed.id).await.is_some());
        } else {
            assert_eq!(
                (replica.status, replica.version),
                (OrderStatus::Cancelled, 1)
            );
            assert!(backing.payment_of(&placed.id).await.is_none());
        }
    }
    let events = published::<PaymentCreated>(&backing.bus).await;
    assert_eq!(events.len(), orders.len() / 2);
    let paid: HashSet<&str> = events.iter().map(|event| event.order_id.as_str()).collect();
    assert_eq!(paid.len(), events.len(), "one event per order");
    let ledger = backing.ledger();
    assert_eq!(ledger.paid_charges().len(), orders.len() / 2);
    assert!(ledger.refunds.is_empty());
}
