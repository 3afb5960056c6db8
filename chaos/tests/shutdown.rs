//! Graceful shutdown under load: SIGTERM a service while requests stream in and events for it
//! queue up. Every request it accepted is answered and kept; the rest are refused cleanly: the
//! connection is refused, or — for a connection still waiting in the kernel's accept queue, or
//! accepted with its request not yet read, when the listener closes — cut before the request
//! was read, and then provably not carried out. Never a 5xx, never a request carried out whose
//! answer is lost. Its outbox is flushed before it exits; the events it did not consume are
//! still there when it comes back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chaos::{Api, Fleet, FleetOptions, settle};
use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::json;

#[derive(Debug, Default)]
struct Tally {
    accepted: Vec<String>,
    refused: usize,
    /// The bodies of requests whose connection was cut before an answer.
    cut: Vec<serde_json::Value>,
    other: Vec<String>,
}

/// POSTs `path` with `body(n)` from `workers` tasks to one replica until `stop`, fresh
/// connection each time (so a refusal is always a refused connection, never a reused one).
async fn load(
    url: String,
    path: &'static str,
    session: String,
    body: Arc<dyn Fn(usize) -> serde_json::Value + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut tally = Tally::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let body = body(n);
        let request = http
            .post(format!("{url}{path}"))
            .header("cookie", &session)
            .json(&body);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                match (status, serde_json::from_str::<serde_json::Value>(&text)) {
                    (201, Ok(created)) => tally
                        .accepted
                        .push(created["id"].as_str().unwrap_or_default().to_owned()),
                    _ => tally.other.push(format!("{status} {text}")),
                }
            }
            Err(error) if error.is_connect() => {
                tally.refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => tally.cut.push(body),
        }
    }
    tally
}

async fn matching(fleet: &Fleet, database: &str, collection: &str, filter: Document) -> u64 {
    fleet
        .database(database)
        .await
        .unwrap()
        .collection::<Document>(collection)
        .count_documents(filter)
        .await
        .unwrap()
}

async fn count(fleet: &Fleet, database: &str, collection: &str, ids: &[String]) -> u64 {
    let ids: Vec<ObjectId> = ids
        .iter()
        .map(|id| ObjectId::parse_str(id).unwrap())
        .collect();
    fleet
        .database(database)
        .await
        .unwrap()
        .collection::<Document>(collection)
        .count_documents(doc! { "_id": { "$in": ids } })
        .await
        .unwrap()
}

/// What became of the requests sent around a SIGTERM.
struct Outcome {
    /// Ids created (201).
    accepted: Vec<String>,
    /// Bodies of requests cut before an answer: they must not have been carried out.
    cut: Vec<serde_json::Value>,
}

/// SIGTERMs `service` (its only replica) in the middle of `workers` streams of POSTs.
async fn terminate_under_load(
    fleet: &Fleet,
    service: &str,
    path: &'static str,
    session: &str,
    body: Arc<dyn Fn(usize) -> serde_json::Value + Send + Sync>,
) -> Outcome {
    let index = fleet.index_of(service, 0).unwrap();
    let url = fleet.members()[index].url();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(load(
                url.clone(),
                path,
                session.to_owned(),
                body.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    fleet
        .terminate(index, Duration::from_secs(10))
        .await
        .unwrap();
    // Down for a moment: requests keep coming and are refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut accepted, mut cut) = (Vec::new(), Vec::new());
    let (mut refused, mut other) = (0, Vec::new());
    for worker in workers {
        let tally = worker.await.unwrap();
        accepted.extend(tally.accepted);
        refused += tally.refused;
        cut.extend(tally.cut);
        other.extend(tally.other);
    }
    assert!(
        other.is_empty(),
        "{service}: answers neither accepted nor cleanly refused: {other:?}"
    );
    assert!(
        !accepted.is_empty() && refused > 0,
        "{service}: {} accepted, {refused} refused",
        accepted.len()
    );
    eprintln!(
        "{service}: {} accepted, {refused} refused while stopped, {} cut unread",
        accepted.len(),
        cut.len()
    );
    Outcome { accepted, cut }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_keeps_every_accepted_request_and_every_event() {
    let options = FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "shutdown")
        .with_replicas("tickets", 1)
        .with_replicas("orders", 1)
        .with_replicas("payments", 1);
    let fleet = Fleet::start(options).await.unwrap();
    let api = Api::new(&fleet);
    let (seller, _) = api
        .sign_up(&format!("{}@s.test", ObjectId::new().to_hex()), "password")
        .await
        .unwrap();
    let (buyer, _) = api
        .sign_up(&format!("{}@s.test", ObjectId::new().to_hex()), "password")
        .await
        .unwrap();

    // Tickets: every 201 is stored, and its ticket:created left the outbox before the exit.
    let serial = AtomicUsize::new(0);
    let outcome = terminate_under_load(
        &fleet,
        "tickets",
        "/api/tickets",
        &seller,
        Arc::new(move |_| {
            let title = format!("load {}", serial.fetch_add(1, Ordering::SeqCst));
            json!({ "title": title, "price": 5 })
        }),
    )
    .await;
    let tickets = outcome.accepted;
    let cut_titles: Vec<&str> = outcome
        .cut
        .iter()
        .filter_map(|body| body["title"].as_str())
        .collect();
    assert_eq!(
        matching(
            &fleet,
            "tickets",
            "tickets",
            doc! { "title": { "$in": &cut_titles } }
        )
        .await,
        0,
        "a ticket whose request was cut was created"
    );
    assert_eq!(
        count(&fleet, "tickets", "tickets", &tickets).await,
        tickets.len() as u64
    );
    let database = fleet.database("tickets").await.unwrap();
    assert_eq!(
        common::outbox::pending_anywhere(&database).await.unwrap(),
        0,
        "tickets exited with events in its outbox"
    );
    // ...which the orders service receives while tickets is still down.
    let mut replicated = 0;
    for _ in 0..200 {
        replicated = count(&fleet, "orders", "tickets", &tickets).await;
        if replicated == tickets.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        replicated,
        tickets.len() as u64,
        "orders lacks tickets created before the shutdown"
    );
    fleet
        .restart(fleet.index_of("tickets", 0).unwrap())
        .await
        .unwrap();

    // Orders: SIGTERM while orders stream in; tickets consumes the order:created events after.
    let queue = Arc::new(std::sync::Mutex::new(tickets.clone()));
    let outcome = terminate_under_load(
        &fleet,
        "orders",
        "/api/orders",
        &buyer,
        Arc::new(move |_| {
            let ticket = queue.lock().unwrap().pop().unwrap_or_default();
            json!({ "ticketId": ticket })
        }),
    )
    .await;
    let orders = outcome.accepted;
    let cut_tickets: Vec<ObjectId> = outcome
        .cut
        .iter()
        .filter_map(|body| ObjectId::parse_str(body["ticketId"].as_str()?).ok())
        .collect();
    assert_eq!(
        matching(
            &fleet,
            "orders",
            "orders",
            doc! { "ticket": { "$in": &cut_tickets } }
        )
        .await,
        0,
        "an order whose request was cut was created"
    );
    assert_eq!(
        count(&fleet, "orders", "orders", &orders).await,
        orders.len() as u64
    );
    let database = fleet.database("orders").await.unwrap();
    assert_eq!(
        common::outbox::pending_anywhere(&database).await.unwrap(),
        0,
        "orders exited with events in its outbox"
    );
    fleet
        .restart(fleet.index_of("orders", 0).unwrap())
        .await
        .unwrap();

    let snapshot = settle(&fleet, Duration::from_secs(90)).await.unwrap();
    snapshot.assert_holds(&fleet, "after the restarts");
    let held = snapshot
        .tickets
        .iter()
        .filter(|ticket| ticket.order_id.is_some())
        .count();
    assert_eq!(held, orders.len(), "every accepted order holds its ticket");
}
