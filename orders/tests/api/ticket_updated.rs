use common::events::TicketUpdated;
use common::testing::events::eventually;
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;

use crate::helpers::spawn_app;

#[tokio::test]
async fn finds_updates_and_saves_a_ticket() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    backing
        .publish(&TicketUpdated {
            id: ticket.id.clone(),
            title: "new concert".into(),
            price: 999.0,
            user_id: ticket.user_id.clone(),
            version: 1,
            order_id: None,
        })
        .await;
    eventually("the update is applied", || async {
        backing.replica(&ticket.id).await.unwrap().version == 1
    })
    .await;
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!(replica.title, "new concert");
    assert_eq!(replica.price, 999.0);
    assert_eq!(replica.version, 1, "the event's version");
}

#[tokio::test]
async fn acks_the_message() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    backing.update_ticket(&ticket, 1, "new concert").await;
    eventually("the update is acked", || async {
        backing.consumer_drained::<TicketUpdated>().await
    })
    .await;
    assert_eq!(backing.replica(&ticket.id).await.unwrap().version, 1);
}

#[tokio::test]
async fn does_not_call_ack_if_the_event_has_a_skipped_version_number() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    backing.update_ticket(&ticket, 10, "too far ahead").await;
    backing.wait_until_redelivered::<TicketUpdated>().await;
    assert_eq!(backing.consumer_backlog::<TicketUpdated>().await.unacked, 1);
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("concert", 0));
}

#[tokio::test]
async fn a_skipped_version_waits_until_the_gap_fills() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    backing.update_ticket(&ticket, 2, "second").await;
    backing.wait_until_redelivered::<TicketUpdated>().await;
    assert_eq!(backing.replica(&ticket.id).await.unwrap().version, 0);

    backing.update_ticket(&ticket, 1, "first").await;
    backing.settled().await;
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("second", 2));
}

#[tokio::test]
async fn version_2_before_version_1_converges_on_version_2() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    backing.update_ticket(&ticket, 2, "v2").await;
    backing.update_ticket(&ticket, 1, "v1").await;
    eventually("the replica reaches version 2", || async {
        backing.replica(&ticket.id).await.unwrap().version == 2
    })
    .await;
    backing.settled().await;
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("v2", 2));
}

#[tokio::test]
async fn a_duplicate_is_acked_and_applied_once() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    // Delivered twice in a row (two message ids: the stream keeps both).
    backing.update_ticket(&ticket, 1, "v1").await;
    backing.update_ticket(&ticket, 1, "v1").await;
    backing.settled().await;
    assert_eq!(backing.replica(&ticket.id).await.unwrap().version, 1);

    // A late copy of v1 after v2 does not roll the replica back.
    backing.update_ticket(&ticket, 2, "v2").await;
    backing.settled().await;
    backing.update_ticket(&ticket, 1, "v1").await;
    backing.settled().await;
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("v2", 2));
}

#[tokio::test]
async fn an_update_before_the_creation_waits_for_it() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let id = ObjectId::new().to_hex();
    let created = common::events::TicketCreated {
        id: id.clone(),
        title: "v0".into(),
        price: 20.0,
        user_id: ObjectId::new().to_hex(),
        version: 0,
    };
    backing.update_ticket(&created, 1, "v1").await;
    backing.wait_until_redelivered::<TicketUpdated>().await;
    assert!(backing.replica(&id).await.is_none());
    backing.publish(&created).await;
    backing.settled().await;
    let replica = backing.replica(&id).await.unwrap();
    assert_eq!((replica.title.as_str(), replica.version), ("v1", 1));
}

#[tokio::test]
async fn an_update_keeps_the_tickets_reservation() {
    let app = spawn_app().await;
    let backing = &app.backing;
    let ticket = backing.seed_ticket("concert", 20.0).await;
    let (_, cookie) = signed_in_user();
    let order = app.create_order(&cookie, &ticket.id).await;
    // What the tickets service publishes when it reserves the ticket for the order.
    backing
        .publish(&TicketUpdated {
            id: ticket.id.clone(),
            title: ticket.title.clone(),
            price: ticket.price,
            user_id: ticket.user_id.clone(),
            version: 1,
            order_id: Some(order["id"].as_str().unwrap().to_owned()),
        })
        .await;
    backing.settled().await;
    let replica = backing.replica(&ticket.id).await.unwrap();
    assert_eq!(replica.version, 1);
    assert_eq!(
        replica.reserved_by.map(|id| id.to_hex()).as_deref(),
        order["id"].as_str()
    );
    let shown: serde_json::Value = app
        .show_order(Some(&cookie), order["id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["ticket"]["version"], 1);
}
