//! A crash between the database write and the publish loses no event (docs/decisions.md #14).

use common::events::{TicketCreated, TicketUpdated};
use common::testing::events::{published, wait_for};

use crate::helpers::Backing;

#[tokio::test]
async fn a_ticket_committed_before_a_crash_is_published_once_the_service_runs_again() {
    let backing = Backing::new().await;
    // The service committed the ticket and its event, then died before any relay ran.
    let ticket = backing
        .tickets
        .create("concert".into(), 20.0, "u1".into())
        .await
        .unwrap();
    let reserved = backing.tickets.reserve(ticket.id, "o1").await.unwrap();
    assert_eq!(backing.outbox_pending().await, 2);
    assert!(published::<TicketCreated>(&backing.bus).await.is_empty());

    // Restarted on the same database and namespace, it publishes what was recorded.
    let _restarted = backing.spawn_app().await;
    let created = wait_for::<TicketCreated>(&backing.bus, 1).await;
    assert_eq!(created, [ticket.created_event()]);
    let updated = wait_for::<TicketUpdated>(&backing.bus, 1).await;
    assert_eq!(updated, [reserved.into_ticket().updated_event()]);
    assert_eq!(updated[0].order_id.as_deref(), Some("o1"));

    // And only once, even with a second replica relaying the same outbox.
    backing.spawn_app().await;
    backing.settled().await;
    assert_eq!(published::<TicketCreated>(&backing.bus).await.len(), 1);
    assert_eq!(published::<TicketUpdated>(&backing.bus).await.len(), 1);
}
