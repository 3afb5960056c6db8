//! A crash between the database write and the publish loses no event (docs/decisions.md #14).

use common::events::{OrderCancelled, OrderCreated, TicketCreated};
use common::testing::events::{published, wait_for};
use mongodb::bson::oid::ObjectId;

use crate::helpers::Backing;

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
}
