use common::events::TicketCreated;
use common::testing::events::eventually;

use crate::helpers::spawn_app;

#[tokio::test]
async fn creates_and_saves_a_ticket() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let event = backing.seed_ticket("concert", 20.5).await;
    let replica = backing.replica(&event.id).await.unwrap();
    assert_eq!(replica.id.to_hex(), event.id);
    assert_eq!(replica.title, "concert");
    assert_eq!(replica.price, 20.5);
    assert_eq!(replica.version, 0);
    assert_eq!(replica.reserved_by, None);
}

#[tokio::test]
async fn copies_the_version_the_event_carries() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let event = backing.announce_ticket("concert", 20.0, 3).await;
    eventually("the replica has the ticket", || async {
        backing.replica(&event.id).await.is_some()
    })
    .await;
    assert_eq!(backing.replica(&event.id).await.unwrap().version, 3);
}

#[tokio::test]
async fn acks_the_message() {
    let app = spawn_app().await;
    app.backing.seed_ticket("concert", 20.0).await;
    eventually("the event is acked", || async {
        app.backing.consumer_drained::<TicketCreated>().await
    })
    .await;
}

#[tokio::test]
async fn a_redelivered_creation_is_acked_and_changes_nothing() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let event = backing.seed_ticket("concert", 20.0).await;
    backing.update_ticket(&event, 1, "renamed").await;
    eventually("the update is applied", || async {
        backing.replica(&event.id).await.unwrap().version == 1
    })
    .await;

    backing.publish(&event).await;
    backing.settled().await;
    let replica = backing.replica(&event.id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("renamed", 1));
}
