//! Reading what services published, straight from the stream.

use std::time::Duration;

use async_nats::jetstream::stream::RawMessageErrorKind;

use crate::bus::Bus;
use crate::bus::listener::{ListenerOptions, durable_consumer};
use crate::events::{
    Event, ExpirationComplete, OrderCancelled, OrderCreated, PaymentCreated, Subject,
    TicketCreated, TicketUpdated,
};

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
    let stream = match bus
        .jetstream()
        .get_stream_no_info(bus.namespace().stream())
        .await
    {
        Ok(stream) => stream,
        Err(error) => panic!("the event stream's name is refused: {error}"),
    };
    let mut events = Vec::new();
    let mut from = 1;
    // Each request asks for the first `subject` at or after `from`; "no message found" is the end.
    loop {
        let what = format!("reading {subject} from sequence {from}");
        let found = patiently(&what, || async {
            match stream
                .get_first_raw_message_by_subject(&subject, from)
                .await
            {
                Ok(message) => Ok(Some(message)),
                Err(error) if error.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
                Err(error) => Err(error),
            }
        })
        .await;
        let Some(message) = found else {
            break;
        };
        match serde_json::from_slice(&message.payload) {
            Ok(event) => events.push(event),
            Err(error) => panic!("unreadable {subject} at {}: {error}", message.sequence),
        }
        from = message.sequence + 1;
    }
    events
}

/// How many times a test's JetStream request is made before its error fails the test.
const ATTEMPTS: usize = 5;

/// `request`'s answer, asking again (up to [`ATTEMPTS`] times, 200 ms apart) while it fails:
/// a JetStream request times out after 5 s when a busy machine starves the server, and a
/// test must neither fail on that nor take a missing answer for a missing event.
async fn patiently<T, E, F, Fut>(what: &str, mut request: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(answer) => return answer,
            Err(error) if attempt == ATTEMPTS => {
                panic!("{what} failed {ATTEMPTS} times, last: {error}")
            }
            Err(error) => {
                tracing::warn!(%error, attempt, "{what} failed; asking again");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
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
    let consumer = match durable_consumer::<E>(bus, group, &ListenerOptions::default()).await {
        Ok(consumer) => consumer,
        Err(error) => panic!(
            "cannot open the {group} consumer of {}: {error}",
            E::SUBJECT
        ),
    };
    let what = format!("reading the {group} consumer of {}", E::SUBJECT);
    let info = patiently(&what, || consumer.get_info()).await;
    Backlog {
        pending: info.num_pending,
        unacked: info.num_ack_pending,
        redelivered: info.num_redelivered,
    }
}

/// [`backlog`] of queue group `group`'s consumer for `subject`, whichever event it carries.
pub async fn backlog_of(bus: &Bus, group: &str, subject: Subject) -> Backlog {
    match subject {
        Subject::TicketCreated => backlog::<TicketCreated>(bus, group).await,
        Subject::TicketUpdated => backlog::<TicketUpdated>(bus, group).await,
        Subject::OrderCreated => backlog::<OrderCreated>(bus, group).await,
        Subject::OrderCancelled => backlog::<OrderCancelled>(bus, group).await,
        Subject::ExpirationComplete => backlog::<ExpirationComplete>(bus, group).await,
        Subject::PaymentCreated => backlog::<PaymentCreated>(bus, group).await,
    }
}
