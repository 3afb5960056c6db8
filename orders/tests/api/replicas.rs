//! Two replicas of the service sharing one database and one bus namespace.

use std::collections::HashSet;

use common::events::{OrderCancelled, OrderCreated, OrderStatus};
use common::testing::events::{published, wait_for};
use common::testing::signed_in_user;

use crate::helpers::Backing;

#[tokio::test]
async fn two_replicas_apply_each_event_once() {
    let backing = Backing::new().await;
    let first = backing.spawn_app().await;
    let second = backing.spawn_app().await;

    let mut tickets = Vec::new();
    for index in 0..8 {
        tickets.push(backing.seed_ticket(&format!("ticket {index}"), 10.0).await);
    }
    // Out of order, so both replicas see versions arrive early.
    for ticket in &tickets {
        for version in [3, 1, 2] {
            backing
                .update_ticket(ticket, version, &format!("v{version}"))
                .await;
        }
    }
    // Orders through both replicas, then expire half and pay the other half.
    let mut orders = Vec::new();
    for (index, ticket) in tickets.iter().enumerate() {
        let app = if index % 2 == 0 { &first } else { &second };
        let (_, cookie) = signed_in_user();
        let order = app.create_order(&cookie, &ticket.id).await;
        orders.push(order["id"].as_str().unwrap().to_owned());
    }
    for (index, id) in orders.iter().enumerate() {
        if index % 2 == 0 {
            backing.expire(id).await;
        } else {
            backing.pay(id).await;
        }
    }
    wait_for::<OrderCancelled>(&backing.bus, orders.len() / 2).await;
    backing.settled().await;

    for ticket in &tickets {
        let replica = backing.replica(&ticket.id).await.unwrap();
        assert_eq!((replica.title.as_str(), replica.version), ("v3", 3));
    }
    for (index, id) in orders.iter().enumerate() {
        let stored = backing.stored(id).await;
        let status = if index % 2 == 0 {
            OrderStatus::Cancelled
        } else {
            OrderStatus::Complete
        };
        assert_eq!(
            (stored.status, stored.version),
            (status, 1),
            "order {index}"
        );
    }
    let created = published::<OrderCreated>(&backing.bus).await;
    assert_eq!(created.len(), orders.len());
    let cancelled = published::<OrderCancelled>(&backing.bus).await;
    assert_eq!(cancelled.len(), orders.len() / 2, "one cancellation each");
    let ids: HashSet<&str> = cancelled.iter().map(|event| event.id.as_str()).collect();
    assert_eq!(ids.len(), cancelled.len());
}
