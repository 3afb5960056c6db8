//! `order:created`: the replica (the original's tests 'replicates the order info',
//! 'acks the message').

use chrono::{TimeDelta, Utc};
use common::events::{OrderCreated, OrderStatus};
use common::testing::events::eventually;
use mongodb::bson::oid::ObjectId;

use crate::helpers::spawn_app;

#[tokio::test]
async fn replicates_the_order_info_and_acks_the_message() {
    let app = spawn_app().await;
    let user_id = ObjectId::new().to_hex();
    let expires_at = Utc::now() + TimeDelta::minutes(15);
    let event = app
        .backing
        .announce_order(&user_id, 19.99, expires_at)
        .await;
    eventually("the replica has the order", || async {
        app.backing.replica(&event.id).await.is_some()
    })
    .await;
    let replica = app.backing.replica(&event.id).await.unwrap();
    assert_eq!(replica.id.to_hex(), event.id);
    assert_eq!(replica.price, event.ticket.price);
    assert_eq!(replica.user_id, user_id);
    assert_eq!((replica.status, replica.version), (OrderStatus::Created, 0));
    assert_eq!(
        replica.expires_at().timestamp_millis(),
        expires_at.timestamp_millis()
    );
    assert_eq!(replica.payment, None);
    eventually("the event is acked", || async {
        app.backing.consumer_drained::<OrderCreated>().await
    })
    .await;
}

#[tokio::test]
async fn a_redelivered_order_is_acked_and_changes_nothing() {
    let app = spawn_app().await;
    let placed = app.place_order(20.0).await;
    app.backing.cancel_and_wait(&placed.order).await;
    // The same order:created again (another message id, as a re-sent event would have).
    app.backing.publish(&placed.order).await;
    app.backing.settled().await;
    let replica = app.backing.replica(&placed.id).await.unwrap();
    assert_eq!(
        (replica.status, replica.version),
        (OrderStatus::Cancelled, 1)
    );
}
