//! A crash between the database write and the publish loses no event (docs/decisions.md #14).

use chrono::{TimeDelta, Utc};
use common::events::PaymentCreated;
use common::outbox::FIELD;
use common::testing::events::{published, wait_for};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use payments::models::{Claim, Settles, charge_key};

use crate::helpers::{Backing, oid, order_created};

/// An order in the replica (written directly, as its listener would); its id.
async fn replicate_an_order(backing: &Backing) -> ObjectId {
    let user_id = ObjectId::new().to_hex();
    let order = order_created(&user_id, 20.0, Utc::now() + TimeDelta::minutes(15));
    let order_id = oid(&order.id);
    backing
        .orders
        .create_from_event(order_id, &order)
        .await
        .unwrap();
    order_id
}

#[tokio::test]
async fn a_payment_committed_before_a_crash_is_published_once_the_service_runs_again() {
    let backing = Backing::new().await;
    // The service replicated an order, recorded its payment and the event, then died before
    // any relay ran.
    let order_id = replicate_an_order(&backing).await;
    let key = charge_key(order_id, "tok_visa");
    let Claim::Recorded(payment) = backing
        .payments
        .record(Settles::Attempt(&key), order_id, "ch_before_crash")
        .await
        .unwrap()
    else {
        panic!("the order was payable");
    };
    assert_eq!(backing.outbox_pending().await, 1);
    // The record waits in the payment, written with it, not in an outbox collection.
    let payments = backing.database().collection::<Document>("payments");
    let stored = payments.find_one(doc! { "_id": payment.id }).await.unwrap();
    assert_eq!(stored.unwrap().get_array(FIELD).map_or(0, Vec::len), 1);
    let outbox = backing.database().collection::<Document>("outbox");
    assert_eq!(outbox.count_documents(doc! {}).await.unwrap(), 0);
    assert!(published::<PaymentCreated>(&backing.bus).await.is_empty());

    // Restarted on the same database and namespace, it publishes what was recorded.
    let _restarted = backing.spawn_app().await;
    let events = wait_for::<PaymentCreated>(&backing.bus, 1).await;
    assert_eq!(events, [payment.created_event()]);

    // And only once, even with a second replica relaying the same outbox.
    backing.spawn_app().await;
    backing.settled().await;
    assert_eq!(published::<PaymentCreated>(&backing.bus).await.len(), 1);
}

#[tokio::test]
async fn a_second_charge_cannot_claim_a_paid_order() {
    let backing = Backing::new().await;
    let order_id = replicate_an_order(&backing).await;
    let first = backing
        .payments
        .record(Settles::Attempt("k1"), order_id, "ch_1")
        .await
        .unwrap();
    let Claim::Recorded(payment) = first else {
        panic!("{first:?}");
    };
    assert_eq!(
        backing
            .payments
            .record(Settles::Attempt("k1"), order_id, "ch_1")
            .await
            .unwrap(),
        Claim::AlreadyRecorded(payment.id)
    );
    assert_eq!(
        backing
            .payments
            .record(Settles::Attempt("k2"), order_id, "ch_2")
            .await
            .unwrap(),
        Claim::PaidByOther
    );
    assert_eq!(
        backing
            .payments
            .record(Settles::Attempt("k3"), ObjectId::new(), "ch_3")
            .await
            .unwrap(),
        Claim::NotFound
    );
    assert_eq!(backing.payments.all().await.unwrap().len(), 1);
}
