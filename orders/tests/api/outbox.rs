//! A crash between the database write and the publish loses no event (docs/decisions.md #14).

use common::events::{OrderCancelled, OrderCreated, TicketCreated};
use common::outbox::FIELD;
use common::testing::events::{published, wait_for};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};

use crate::helpers::Backing;

/// How many records wait in the order `id`.
async fn kept(backing: &Backing, id: ObjectId) -> usize {
    let orders = backing.database().collection::<Document>("orders");
    let order = orders.find_one(doc! { "_id": id }).await.unwrap().unwrap();
    order.get_array(FIELD).map_or(0, Vec::len)
}

#[tokio::test]
async fn an_order_committed_before_a_crash_is_published_once_the_service_runs_again() {
    let backing = Backing::new().await;
    // The service replicated a ticket, committed two orders and their events (one of them
    // cancelled since), then died before any relay ran.
    let ticket_id = ObjectId::new();
    let ticket = TicketCreated {
        id: ticket_id.to_hex(),
        title: "concert".into(),
        price: 20.0,
        user_id: ObjectId::new().to_hex(),
        version: 0,
    };
    backing
        .tickets
        .create_from_event(ticket_id, &ticket)
        .await
        .unwrap();
    let first = backing.orders.create("u1", ticket_id).await.unwrap();
    backing.orders.cancel(first.order.id).await.unwrap();
    let second = backing.orders.create("u2", ticket_id).await.unwrap();
    assert_eq!(backing.outbox_pending().await, 3);
    // Each record waits in the order it is about, written with it: the first order holds its
    // creation and its cancellation, and no outbox collection holds anything.
    assert_eq!(
        (
            kept(&backing, first.order.id).await,
            kept(&backing, second.order.id).await
        ),
        (2, 1)
    );
    let outbox = backing.database().collection::<Document>("outbox");
    assert_eq!(outbox.count_documents(doc! {}).await.unwrap(), 0);
    assert!(published::<OrderCreated>(&backing.bus).await.is_empty());

    // Restarted on the same database and namespace, it publishes what was recorded.
    let _restarted = backing.spawn_app().await;
    let created = wait_for::<OrderCreated>(&backing.bus, 2).await;
    assert_eq!(
        created,
        [
            first.order.created_event(20.0),
            second.order.created_event(20.0)
        ]
    );
    let cancelled = wait_for::<OrderCancelled>(&backing.bus, 1).await;
    assert_eq!(cancelled[0].id, first.order.id.to_hex());
    assert_eq!(cancelled[0].version, 1);

    // And only once, even with a second replica relaying the same outbox.
    backing.spawn_app().await;
    backing.settled().await;
    assert_eq!(published::<OrderCreated>(&backing.bus).await.len(), 2);
    assert_eq!(published::<OrderCancelled>(&backing.bus).await.len(), 1);
    assert_eq!(
        (
            kept(&backing, first.order.id).await,
            kept(&backing, second.order.id).await
        ),
        (0, 0)
    );
}
