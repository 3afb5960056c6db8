//! The model's optimistic concurrency, without a service running.

use common::events::{TicketCreated, TicketUpdated};
use common::testing::events::published;
use tickets::models::SaveError;

use crate::helpers::Backing;

#[tokio::test]
async fn implements_optimistic_concurrency_control() {
    let backing = Backing::new().await;
    let tickets = &backing.tickets;
    let ticket = tickets
        .create("concert".into(), 5.0, "123".into())
        .await
        .unwrap();

    let mut first = tickets.find(ticket.id).await.unwrap().unwrap();
    let mut second = tickets.find(ticket.id).await.unwrap().unwrap();
    first.price = 10.0;
    second.price = 15.0;

    let saved = tickets.save(&first).await.unwrap();
    assert_eq!(saved.version, 1);
    let stale = tickets.save(&second).await;
    assert!(matches!(stale, Err(SaveError::Stale)), "{stale:?}");

    let stored = tickets.find(ticket.id).await.unwrap().unwrap();
    assert_eq!((stored.price, stored.version), (10.0, 1));
    // The failed save recorded no event: one creation, one update wait in the outbox.
    assert_eq!(backing.outbox_pending().await, 2);
}

#[tokio::test]
async fn increments_the_version_number_on_multiple_saves() {
    let backing = Backing::new().await;
    let tickets = &backing.tickets;
    let ticket = tickets
        .create("concert".into(), 20.0, "123".into())
        .await
        .unwrap();
    assert_eq!(ticket.version, 0);
    let ticket = tickets.save(&ticket).await.unwrap();
    assert_eq!(ticket.version, 1);
    let ticket = tickets.save(&ticket).await.unwrap();
    assert_eq!(ticket.version, 2);
    assert_eq!(tickets.find(ticket.id).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn nothing_is_published_without_a_relay() {
    // The model only records events; publishing is the relay's job.
    let backing = Backing::new().await;
    backing
        .tickets
        .create("concert".into(), 20.0, "123".into())
        .await
        .unwrap();
    assert_eq!(backing.outbox_pending().await, 1);
    assert!(published::<TicketCreated>(&backing.bus).await.is_empty());
    assert!(published::<TicketUpdated>(&backing.bus).await.is_empty());
}
