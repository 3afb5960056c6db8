//! The bus users' permissions against a real nats-server that accepts only them: each service
//! can do all it needs and nothing that belongs to another.

use std::time::Duration;

use async_nats::jetstream;
use common::bus::access::{self, BusUser};
use common::bus::listener::{ListenerOptions, durable_consumer};
use common::bus::{Bus, Namespace};
use common::events::{
    ExpirationComplete, OrderCancelled, OrderCreated, PaymentCreated, Subject, TicketCreated,
    TicketUpdated,
};
use common::testing::secured::BusPasswords;
use common::testing::{TempDir, stop_gracefully};
use mongodb::bson::oid::ObjectId;

use crate::helpers::{secured_nats, settings};

/// Makes `user`'s durable consumer for `subject` as its listener does.
async fn consumer_for(bus: &Bus, user: &BusUser, subject: Subject) -> anyhow::Result<()> {
    let options = ListenerOptions::default();
    let group = user.queue_group;
    match subject {
        Subject::TicketCreated => durable_consumer::<TicketCreated>(bus, group, &options).await,
        Subject::TicketUpdated => durable_consumer::<TicketUpdated>(bus, group, &options).await,
        Subject::OrderCreated => durable_consumer::<OrderCreated>(bus, group, &options).await,
        Subject::OrderCancelled => durable_consumer::<OrderCancelled>(bus, group, &options).await,
        Subject::ExpirationComplete => {
            durable_consumer::<ExpirationComplete>(bus, group, &options).await
        }
        Subject::PaymentCreated => durable_consumer::<PaymentCreated>(bus, group, &options).await,
    }
    .map(drop)
}

/// Publishes a raw message under `subject` as `bus`'s user and waits briefly for the stream
/// to store it.
async fn publish(bus: &Bus, subject: Subject) -> anyhow::Result<()> {
    let id = ObjectId::new().to_hex();
    let stored = bus.publish_raw(subject.as_str(), b"{}".to_vec().into(), &id, None);
    refused_within(stored).await
}

/// What `request` answered, or an error if it did not answer soon: a request the server
/// refuses for want of permission gets no answer at all (the server tells the connection,
/// not the requester), and an allowed one answers within milliseconds on this machine.
async fn refused_within<T>(
    request: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_millis(750), request)
        .await
        .map_err(|_| anyhow::anyhow!("no answer"))?
        .map(drop)
}

#[tokio::test]
async fn each_service_may_do_what_it_needs_and_nothing_that_belongs_to_another() {
    let passwords = BusPasswords::generate();
    let store = TempDir::new("bus-access");
    let nats = secured_nats(&passwords, &store);
    let port = nats.port();

    for user in access::SERVICES {
        let bus = Bus::connect_with(&settings(port, &passwords, user.name))
            .await
            .unwrap_or_else(|error| {
                panic!("{} connects and makes the streams: {error}", user.name)
            });
        for subject in Subject::ALL {
            let published = publish(&bus, subject).await;
            assert_eq!(
                published.is_ok(),
                user.publishes.contains(&subject),
                "{} publishing {subject:?}: {published:?}",
                user.name
            );
        }
        for subject in user.listens {
            consumer_for(&bus, &user, *subject)
                .await
                .unwrap_or_else(|error| panic!("{} listens to {subject:?}: {error}", user.name));
        }
        // Another service's consumer: refused, whichever subject.
        let other = access::SERVICES
            .into_iter()
            .find(|other| other.name != user.name && !other.listens.is_empty())
            .unwrap();
        let stolen = BusUser {
            queue_group: other.queue_group,
            ..user
        };
        assert!(
            refused_within(consumer_for(&bus, &stolen, other.listens[0]))
                .await
                .is_err(),
            "{} made {}'s consumer",
            user.name,
            other.name
        );
    }

    // Only the operator may purge or delete the stream.
    let orders = Bus::connect_with(&settings(port, &passwords, "orders"))
        .await
        .unwrap();
    let events = Namespace::none().stream();
    let deleted = async { Ok(orders.jetstream().delete_stream(&events).await?) };
    assert!(refused_within(deleted).await.is_err());
    let mut stream = orders.jetstream().get_stream(&events).await.unwrap();
    let purged = async { Ok(stream.purge().await?) };
    assert!(refused_within(purged).await.is_err());
    assert!(stream.info().await.unwrap().state.messages > 0);
    let operator = Bus::connect_with(&settings(port, &passwords, access::OPERATOR))
        .await
        .unwrap();
    operator
        .jetstream()
        .get_stream(&events)
        .await
        .unwrap()
        .purge()
        .await
        .expect("the operator may purge");
    stop_gracefully(nats).await;
}

#[tokio::test]
async fn strangers_and_wrong_passwords_are_refused_at_once() {
    let passwords = BusPasswords::generate();
    let store = TempDir::new("bus-access-strangers");
    let nats = secured_nats(&passwords, &store);
    let url = format!("nats://127.0.0.1:{}", nats.port());

    // The forger's script: no credentials at all.
    assert!(async_nats::connect(&url).await.is_err());
    let anonymous = jetstream::new(
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(&url)
            .await
            .unwrap(),
    );
    let forged = anonymous
        .publish(Subject::PaymentCreated.as_str(), b"{}".to_vec().into())
        .await;
    let stored = match forged {
        Ok(ack) => tokio::time::timeout(Duration::from_secs(2), ack).await.ok(),
        Err(_) => None,
    };
    assert!(
        !matches!(stored, Some(Ok(_))),
        "an anonymous publish was stored"
    );

    // A service whose password is wrong fails its start with a line that says so.
    let mut wrong = settings(nats.port(), &passwords, "payments");
    wrong.credentials = Some(common::bus::Credentials {
        user: "payments".to_owned(),
        password: common::config::Secret::new("not-the-password"),
    });
    let error = tokio::time::timeout(Duration::from_secs(10), Bus::connect_with(&wrong))
        .await
        .expect("a refused password fails the start, it does not hang")
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("refused this service's credentials"),
        "{error:#}"
    );
    stop_gracefully(nats).await;
}
