//! Reading what services published, straight from the stream.

use std::time::Duration;

use crate::bus::Bus;
use crate::bus::listener::{ListenerOptions, durable_consumer};
use crate::events::Event;

/// Publishes `event` with a fresh message id, as another service's relay would, and asserts
/// the stream stored it.
pub async fn publish<E: Event>(bus: &Bus, event: &E) {
    let id = mongodb::bson::oid::ObjectId::new().to_hex();
    match bus.publish(event, &id).await {
        Ok(duplicate) => assert!(!duplicate, "a fresh message id was taken for a duplicate"),
        Err(error) => panic!("publishing {} failed: {error}", E::SUBJECT),
    }
}

/// Every `E` in the bus's stream so far, oldest first.
pub async fn published<E: Event>(bus: &Bus) -> Vec<E> {
    let subject = bus.namespace().subject(E::SUBJECT);
    let mut stream = match bus.jetstream().get_stream(bus.namespace().stream()).await {
        Ok(stream) => stream,
        Err(error) => panic!("the event stream is missing: {error}"),
    };
    let last = match stream.info().await {
        Ok(info) => info.state.last_sequence,
        Err(error) => panic!("cannot read the stream: {error}"),
    };
    let mut events = Vec::new();
    for sequence in 1..=last {
        // A sequence can be missing (deleted); skip it.
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        if message.subject.as_str() == subject {
            match serde_json::from_slice(&message.payload) {
                Ok(event) => events.push(event),
                Err(error) => panic!("unreadable {subject} at {sequence}: {error}"),
            }
        }
    }
    events
}

/// Waits (up to 10 s) until the stream holds at least `count` events `E`; returns them all.
pub async fn wait_for<E: Event>(bus: &Bus, count: usize) -> Vec<E> {
    for _ in 0..200 {
        let events = published::<E>(bus).await;
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {count} {} events were published within 10 s",
        E::SUBJECT
    );
}

/// Polls `condition` (every 25 ms, up to 10 s) until it holds.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

/// What a service's durable consumer has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Not delivered yet.
    pub pending: u64,
    /// Delivered and not acked.
    pub unacked: usize,
    /// Delivered more than once and not acked.
    pub redelivered: usize,
}

impl Backlog {
    /// Nothing undelivered and nothing unacked.
    pub fn is_drained(&self) -> bool {
        self.pending == 0 && self.unacked == 0
    }
}

/// The backlog of queue group `group`'s durable consumer for `E` (created if missing).
pub async fn backlog<E: Event>(bus: &Bus, group: &str) -> Backlog {
    let mut consumer = match durable_consumer::<E>(bus, group, &ListenerOptions::default()).await {
        Ok(consumer) => consumer,
        Err(error) => panic!(
            "cannot open the {group} consumer of {}: {error}",
            E::SUBJECT
        ),
    };
    match consumer.info().await {
        Ok(info) => Backlog {
            pending: info.num_pending,
            unacked: info.num_ack_pending,
            redelivered: info.num_redelivered,
        },
        Err(error) => panic!(
            "cannot read the {group} consumer of {}: {error}",
            E::SUBJECT
        ),
    }
}
