//! Delivery faults: the bus hands events over late, twice, out of order, and replays history.
//!
//! The events a service has not consumed yet (its replicas are down) are taken out of the
//! stream and put back shuffled with duplicates, so its listeners see versions out of order;
//! the services that did consume them see them again. Then the whole history is replayed once
//! more with everyone up. Replicas must converge to their owners' state, and replays must
//! change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use async_nats::jetstream;
use chaos::{Api, Fleet, FleetOptions, settle};
use mongodb::bson::oid::ObjectId;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use reqwest::Method;
use serde_json::json;

const WINDOW: Duration = Duration::from_secs(3);

/// Every message in the events stream: (subject, payload), oldest first.
async fn history(stream: &jetstream::stream::Stream) -> Vec<(u64, String, bytes::Bytes)> {
    let mut stream = stream.clone();
    let state = stream.info().await.unwrap().state.clone();
    let mut messages = Vec::new();
    for sequence in state.first_sequence..=state.last_sequence {
        if let Ok(message) = stream.get_raw_message(sequence).await {
            messages.push((sequence, message.subject.to_string(), message.payload));
        }
    }
    messages
}

/// Takes every message out of the stream and publishes them again, shuffled, each twice.
async fn reshuffle(
    js: &jetstream::Context,
    stream: &jetstream::stream::Stream,
    rng: &mut StdRng,
) -> usize {
    let messages = history(stream).await;
    for (sequence, _, _) in &messages {
        stream.delete_message(*sequence).await.unwrap();
    }
    let mut copies: Vec<_> = messages.iter().chain(&messages).collect();
    copies.shuffle(rng);
    for (_, subject, payload) in &copies {
        js.publish(subject.clone(), payload.clone())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    copies.len()
}

/// Publishes every message of the stream once more, oldest first.
async fn replay(js: &jetstream::Context, stream: &jetstream::stream::Stream) -> usize {
    let messages = history(stream).await;
    for (_, subject, payload) in &messages {
        js.publish(subject.clone(), payload.clone())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    messages.len()
}

async fn stop_all(fleet: &Fleet, service: &str) -> Vec<usize> {
    let indices: Vec<usize> = (0..fleet.replicas(service).count())
        .map(|replica| fleet.index_of(service, replica).unwrap())
        .collect();
    for index in &indices {
        fleet
            .terminate(*index, Duration::from_secs(10))
            .await
            .unwrap();
    }
    indices
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_through_duplicated_reordered_and_replayed_events() {
    let options =
        FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "delivery").with_window(WINDOW);
    let fleet = Fleet::start(options).await.unwrap();
    let api = Api::new(&fleet);
    let nats = fleet.nats_operator().await.unwrap();
    let js = jetstream::new(nats);
    let stream = js
        .get_stream(common::bus::Namespace::none().stream())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (seller, _) = api
        .sign_up(&format!("{}@d.test", ObjectId::new().to_hex()), "password")
        .await
        .unwrap();
    let (buyer, _) = api
        .sign_up(&format!("{}@d.test", ObjectId::new().to_hex()), "password")
        .await
        .unwrap();

    // Orders and payments down: tickets are created and edited; their events wait.
    let orders = stop_all(&fleet, "orders").await;
    let payments = stop_all(&fleet, "payments").await;
    let mut tickets = Vec::new();
    for n in 0..4 {
        let reply = api
            .answer(
                Method::POST,
                "/api/tickets",
                &seller,
                Some(json!({ "title": format!("t{n}"), "price": 10 + n })),
            )
            .await;
        assert_eq!(reply.status, 201);
        let id = reply.str("id").unwrap().to_owned();
        for edit in 0..3 {
            let body = json!({ "title": format!("t{n} edit {edit}"), "price": 20 + edit });
            let reply = api
                .answer(
                    Method::PUT,
                    &format!("/api/tickets/{id}"),
                    &seller,
                    Some(body),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        tickets.push(id);
    }
    // Let the outbox relay publish them all, then shuffle them with duplicates.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shuffled = reshuffle(&js, &stream, &mut rng).await;
    for index in &orders {
        fleet.restart(*index).await.unwrap();
    }

    // Orders back (payments still down): buy, cancel, let expire.
    let mut ticket_replicas_seen = false;
    for _ in 0..200 {
        let order = api
            .answer(
                Method::POST,
                "/api/orders",
                &buyer,
                Some(json!({ "ticketId": tickets[0] })),
            )
            .await;
        if order.status == 201 {
            ticket_replicas_seen = true;
            let id = order.str("id").unwrap();
            assert_eq!(
                api.answer(Method::DELETE, &format!("/api/orders/{id}"), &buyer, None)
                    .await
                    .status,
                204
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        ticket_replicas_seen,
        "orders never learnt ticket {}",
        tickets[0]
    );
    for ticket in &tickets[1..] {
        let order = loop {
            let order = api
                .answer(
                    Method::POST,
                    "/api/orders",
                    &buyer,
                    Some(json!({ "ticketId": ticket })),
                )
                .await;
            if order.status != 404 {
                break order;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(order.status, 201, "{}", order.text);
    }
    tokio::time::sleep(WINDOW + Duration::from_secs(2)).await;
    let shuffled_again = reshuffle(&js, &stream, &mut rng).await;
    for index in &payments {
        fleet.restart(*index).await.unwrap();
    }
    let settled = settle(&fleet, Duration::from_secs(90)).await.unwrap();
    settled.assert_holds(&fleet, "after the shuffles");
    assert_eq!(settled.tickets.len(), 4);
    assert!(
        settled
            .orders
            .iter()
            .all(|order| order.status == "cancelled"),
        "{:?}",
        settled.orders
    );
    // Created, three edits, reserved, freed: version 5 everywhere, whatever the delivery order.
    assert!(
        settled.tickets.iter().all(|ticket| ticket.version == 5),
        "{:?}",
        settled.tickets
    );

    // Everyone up: replay the whole history once more. Nothing may change.
    let replayed = replay(&js, &stream).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = settle(&fleet, Duration::from_secs(90)).await.unwrap();
    after.assert_holds(&fleet, "after the replay");
    assert_eq!(
        after.tickets, settled.tickets,
        "a replay changed the tickets"
    );
    assert_eq!(after.orders, settled.orders, "a replay changed the orders");
    assert_eq!(after.ticket_replicas, settled.ticket_replicas);
    assert_eq!(after.order_replicas, settled.order_replicas);
    eprintln!(
        "shuffled {shuffled} then {shuffled_again} deliveries, replayed {replayed}; {} checks",
        after.checks()
    );
}
