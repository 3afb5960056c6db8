//! Two replicas share the durable consumers: each event is applied once.

use common::events::TicketUpdated;
use common::testing::events::published;
use common::testing::signed_in_user;

use crate::helpers::{Backing, order_created};

#[tokio::test]
async fn two_replicas_apply_each_order_event_once() {
    let backing = Backing::new().await;
    let first = backing.spawn_app().await;
    let second = backing.spawn_app().await;
    let (_, cookie) = signed_in_user();
    let mut tickets = Vec::new();
    for n in 0..10 {
        let replica = if n % 2 == 0 { &first } else { &second };
        tickets.push(replica.create_ticket(&cookie, &format!("t{n}"), 10.0).await);
    }
    let orders: Vec<_> = tickets.iter().map(order_created).collect();
    for order in &orders {
        backing.publish(order).await;
    }
    backing.settled().await;

    for (ticket, order) in tickets.iter().zip(&orders) {
        let stored = backing.stored(ticket["id"].as_str().unwrap()).await;
        assert_eq!(stored.version, 1, "reserved exactly once");
        assert_eq!(stored.order_id.as_deref(), Some(order.id.as_str()));
    }
    let updated = published::<TicketUpdated>(&backing.bus).await;
    assert_eq!(updated.len(), 10, "one ticket:updated per order");
    // Both replicas see the same tickets.
    assert!(first.list_tickets().await.is_empty());
    assert!(second.list_tickets().await.is_empty());
}
