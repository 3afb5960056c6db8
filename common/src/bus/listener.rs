//! Listening: a durable consumer per service and subject, and one loop that acks only on
//! success.
//!
//! All replicas of a service bind the same durable pull consumer (named after the service's
//! queue group and the subject), so JetStream hands each event to exactly one of them. A
//! handler answers [`Outcome::Done`] when the event is applied *or was already applied* (a
//! duplicate: ack and forget, docs/decisions.md #12) and [`Outcome::NotYet`] when it arrived before
//! one it depends on; then, as after an error, the message is negatively acknowledged with a
//! growing delay and redelivered. A message that fails `max_deliver` times, or cannot be parsed
//! at all, is logged with its payload and parked on the parked stream, never silently dropped.
//!
//! A replica handles up to [`ListenerOptions::concurrency`] events of a subject at once. That is
//! safe for the same reason replicas may share a consumer: handlers are idempotent and
//! version-checked, so an event overtaking the one it depends on answers `NotYet` and comes
//! back. One at a time, a replica could not keep up with a burst (a thousand orders expiring
//! within seconds) however idle its database was. Events with the same [`Event::key`] (one
//! ticket's updates) are the exception: a replica starts one only when the one before it is
//! done, in the order they came, so one replica never overtakes itself; only events split
//! between replicas can still arrive early and wait out a redelivery.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::message::Message;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::bus::Bus;
use crate::config::{self, ConfigError};
use crate::events::Event;
use crate::telemetry::propagation;

/// What a handler made of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now, or already applied earlier: acknowledge it.
    Done,
    /// It depends on an event not yet applied (say version 3 before 2): redeliver it later.
    NotYet,
}

impl Outcome {
    /// The replica rule (docs/decisions.md #12) for an update carrying `event_version` to a replica
    /// at `replica_version`: `Some(Done)` when it is already applied (a duplicate: ack and
    /// ignore), `Some(NotYet)` when an earlier update is missing, `None` when it is the next
    /// one and should be applied.
    pub fn for_versions(replica_version: i64, event_version: i64) -> Option<Outcome> {
        if event_version <= replica_version {
            Some(Outcome::Done)
        } else if event_version == replica_version + 1 {
            None
        } else {
            Some(Outcome::NotYet)
        }
    }
}

/// The id of the `what` (`"order"`, `"ticket"`) an event names. A malformed one is an error, so
/// the event is never applied: it is retried and then parked, seen rather than lost.
pub fn event_id(what: &str, text: &str) -> anyhow::Result<mongodb::bson::oid::ObjectId> {
    use anyhow::Context;
    mongodb::bson::oid::ObjectId::parse_str(text)
        .with_context(|| format!("malformed {what} id {text:?}"))
}

/// Handles one kind of event for one service.
pub trait Listener: Send + Sync + 'static {
    /// The event it handles; the subject follows from it.
    type Event: Event;
    /// The service's queue group, e.g. `orders-service`: replicas sharing it share the work.
    const QUEUE_GROUP: &'static str;

    /// Applies `event`. Must be idempotent: the same event may arrive more than once.
    fn on_message(
        &self,
        event: Self::Event,
    ) -> impl Future<Output = anyhow::Result<Outcome>> + Send;
}

/// Delivery settings shared by a service's consumers.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// How long the server waits for an ack before redelivering (the original's 5 s).
    pub ack_wait: Duration,
    /// Deliveries before a message is parked.
    pub max_deliver: i64,
    /// The first redelivery delay after a failure or `NotYet`; doubles each time.
    pub first_retry: Duration,
    /// The longest redelivery delay.
    pub max_retry: Duration,
    /// Events a replica handles at once, per subject; as many again may wait behind an event
    /// with the same key.
    pub concurrency: usize,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        // 100 deliveries with delays doubling from 20 ms up to 30 s: about 45 minutes of
        // retrying, enough to ride out a database or publisher outage before parking. The first
        // retries are quick: an event that overtook its predecessor (version 3 before 2) usually
        // finds it applied a few milliseconds later, handled at the same time by this replica
        // or another.
        ListenerOptions {
            ack_wait: Duration::from_secs(5),
            max_deliver: 100,
            first_retry: Duration::from_millis(20),
            max_retry: Duration::from_secs(30),
            // Below the MongoDB driver's default pool of 10 connections per service, summed
            // over a service's few listeners, plus its HTTP handlers: a burst queues in the
            // pool, not in the consumer.
            concurrency: 8,
        }
    }
}

impl ListenerOptions {
    /// Reads `LISTENER_CONCURRENCY` (at least 1); the rest keep their defaults. The ack wait
    /// and the deliveries are not settings: a durable consumer keeps the ones it was made with,
    /// and a replica counting other deliveries than its consumer would leave events unparked.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = ListenerOptions::default();
        Ok(ListenerOptions {
            concurrency: config::positive("LISTENER_CONCURRENCY", defaults.concurrency)?,
            ..defaults
        })
    }

    fn retry_delay(&self, delivered: i64) -> Duration {
        let exponent = u32::try_from(delivered.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(16);
        self.first_retry
            .saturating_mul(1 << exponent)
            .min(self.max_retry)
    }
}

/// The durable consumer `queue_group` uses for `E`, created if missing.
pub async fn durable_consumer<E: Event>(
    bus: &Bus,
    queue_group: &str,
    options: &ListenerOptions,
) -> anyhow::Result<PullConsumer> {
    let name = super::access::consumer_name(queue_group, E::SUBJECT);
    let stream = bus
        .jetstream()
        .get_stream(bus.namespace().stream())
        .await
        .map_err(|error| anyhow::anyhow!("opening the event stream: {error}"))?;
    let config = consumer::pull::Config {
        durable_name: Some(name.clone()),
        filter_subject: bus.namespace().subject(E::SUBJECT),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: options.ack_wait,
        max_deliver: options.max_deliver,
        ..Default::default()
    };
    stream
        .get_or_create_consumer(&name, config)
        .await
        .map_err(|error| anyhow::anyhow!("creating consumer {name}: {error}"))
}

/// Sets, at each scrape, the gauges of `queue_group`'s consumer of `E`: events not yet delivered
/// and delivered but not acknowledged; and of the stream: its bytes and its limit.
fn consumer_gauges<E: Event>(bus: &Bus, queue_group: &str) -> crate::metrics::Collector {
    let consumer = super::access::consumer_name(queue_group, E::SUBJECT);
    let bus = bus.clone();
    std::sync::Arc::new(move || {
        let (bus, consumer) = (bus.clone(), consumer.clone());
        Box::pin(async move {
            let name = bus.namespace().stream();
            let Ok(stream) = bus.jetstream().get_stream(&name).await else {
                return;
            };
            let limits = &stream.cached_info();
            metrics::gauge!("bus_stream_bytes", "stream" => name.clone())
                .set(limits.state.bytes as f64);
            metrics::gauge!("bus_stream_max_bytes", "stream" => name.clone())
                .set(limits.config.max_bytes as f64);
            if let Ok(info) = stream.consumer_info(&consumer).await {
                let labels = [("stream", name), ("consumer", consumer)];
                metrics::gauge!("bus_consumer_pending_events", &labels)
                    .set(info.num_pending as f64);
                metrics::gauge!("bus_consumer_unacknowledged_events", &labels)
                    .set(info.num_ack_pending as f64);
            }
        })
    })
}

/// Runs `listener` until `shutdown`: the messages being handled are finished first, never cut.
pub async fn run<L: Listener>(
    bus: Bus,
    listener: L,
    options: ListenerOptions,
    shutdown: CancellationToken,
) {
    let subject = L::Event::SUBJECT;
    let concurrency = options.concurrency.max(1);
    let _backlog =
        crate::metrics::collect_at_scrape(consumer_gauges::<L::Event>(&bus, L::QUEUE_GROUP));
    // Both outlive a resubscription: handlers in flight go on while a new pull starts.
    let mut in_flight = FuturesUnordered::new();
    let mut in_order = InOrder::default();
    'consume: while !shutdown.is_cancelled() {
        let consumer = match durable_consumer::<L::Event>(&bus, L::QUEUE_GROUP, &options).await {
            Ok(consumer) => consumer,
            Err(error) => {
                tracing::warn!(%subject, error = %error, "consumer unavailable, retrying");
                pause(&shutdown, Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%subject, error = %error, "cannot pull messages, retrying");
                pause(&shutdown, Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => break 'consume,
                Some(held) = in_flight.next(), if !in_flight.is_empty() => {
                    let held: Option<String> = held;
                    if let Some(key) = held
                        && let Some((message, event)) = in_order.finished(&key)
                    {
                        in_flight.push(handle(&bus, &listener, &options, &shutdown, message, event));
                    }
                    continue;
                }
                // Queued events have their own room: a burst about one ticket cannot take the
                // places of other tickets' events.
                next = messages.next(), if in_flight.len() < concurrency
                    && in_order.queued() < concurrency => next,
            };
            match next {
                Some(Ok(message)) => {
                    let event = serde_json::from_slice::<L::Event>(&message.payload);
                    let admitted = match &event {
                        Ok(read) => {
                            let key = read.key().to_owned();
                            in_order.admit(key, (message, event))
                        }
                        // Unreadable: parked at once, no key to wait behind.
                        Err(_) => Some((message, event)),
                    };
                    if let Some((message, event)) = admitted {
                        in_flight
                            .push(handle(&bus, &listener, &options, &shutdown, message, event));
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%subject, error = %error, "pulling messages failed, resubscribing");
                    pause(&shutdown, Duration::from_millis(500)).await;
                    continue 'consume;
                }
                None => continue 'consume,
            }
        }
    }
    while in_flight.next().await.is_some() {}
    // Pulled but not started: back to the server at once, for another replica or the next start.
    for (message, _) in in_order.drain() {
        if let Err(error) = message.ack_with(AckKind::Nak(None)).await {
            tracing::warn!(%subject, error = %error, "nak failed; the event will be redelivered");
        }
    }
    tracing::info!(%subject, queue_group = L::QUEUE_GROUP, "listener stopped");
}

/// Which keys have an event in flight, and the events pulled meanwhile with the same key,
/// oldest first: a later event about the same ticket or order starts only when the one before
/// it is done. Without this, a replica handling a ticket's version 2 and 3 at once would find
/// 3 early, answer `NotYet` and wait out a redelivery delay for nothing.
#[derive(Debug)]
struct InOrder<T> {
    busy: HashMap<String, VecDeque<T>>,
    queued: usize,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            busy: HashMap::new(),
            queued: 0,
        }
    }
}

impl<T> InOrder<T> {
    /// `item`, to start now when nothing with `key` is in flight (it is then); otherwise
    /// queued behind the others with `key`.
    fn admit(&mut self, key: String, item: T) -> Option<T> {
        match self.busy.entry(key) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push_back(item);
                self.queued += 1;
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::new());
                Some(item)
            }
        }
    }

    /// The one in flight with `key` is done: the next with `key`, to start now, if any.
    fn finished(&mut self, key: &str) -> Option<T> {
        let queue = self.busy.get_mut(key)?;
        if let Some(next) = queue.pop_front() {
            self.queued -= 1;
            Some(next)
        } else {
            self.busy.remove(key);
            None
        }
    }

    /// How many wait behind another with their key.
    fn queued(&self) -> usize {
        self.queued
    }

    /// Everything still queued; nothing is in flight any more.
    fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.queued = 0;
        self.busy.drain().flat_map(|(_, queue)| queue)
    }
}

async fn pause(shutdown: &CancellationToken, duration: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {},
        () = tokio::time::sleep(duration) => {},
    }
}

/// Handles one message and answers the key it held, if it was read.
async fn handle<L: Listener>(
    bus: &Bus,
    listener: &L,
    options: &ListenerOptions,
    shutdown: &CancellationToken,
    message: Message,
    event: serde_json::Result<L::Event>,
) -> Option<String> {
    let subject = L::Event::SUBJECT;
    let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
    let counted = |outcome: &'static str| {
        metrics::counter!("bus_events_total", "subject" => subject.as_str(), "queue_group" => L::QUEUE_GROUP, "outcome" => outcome)
            .increment(1);
    };
    if delivered > 1 {
        metrics::counter!("bus_redeliveries_total", "subject" => subject.as_str(), "queue_group" => L::QUEUE_GROUP)
            .increment(1);
    }
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            let reason = format!("unreadable payload: {error}");
            park::<L>(bus, &message, &reason, shutdown).await;
            counted("parked");
            return None;
        }
    };
    let key = event.key().to_owned();
    // The event's span continues the trace its publisher recorded it in.
    let span = tracing::info_span!("event", %subject, queue_group = L::QUEUE_GROUP, delivered);
    propagation::continue_trace(&span, traceparent(&message));
    let started = std::time::Instant::now();
    let handled = listener.on_message(event).instrument(span.clone()).await;
    let took = started.elapsed();
    metrics::histogram!("bus_event_handling_seconds", "subject" => subject.as_str(), "queue_group" => L::QUEUE_GROUP)
        .record(took.as_secs_f64());
    let outcome = match &handled {
        Ok(Outcome::Done) => "applied",
        Ok(Outcome::NotYet) => "not_yet",
        Err(_) => "failed",
    };
    counted(outcome);
    let problem = match handled {
        Ok(Outcome::Done) => {
            let latency_ms = took.as_secs_f64() * 1000.0;
            span.in_scope(|| tracing::info!(latency_ms, "event applied"));
            if let Ok(info) = message.info() {
                metrics::histogram!("bus_event_lag_seconds", "subject" => subject.as_str(), "queue_group" => L::QUEUE_GROUP)
                    .record(since(info.published.unix_timestamp_nanos()));
            }
            if let Err(error) = message.ack().await {
                tracing::warn!(%subject, error = %error, "ack failed; the event will be redelivered");
            }
            return Some(key);
        }
        Ok(Outcome::NotYet) => "an earlier event has not been applied yet".to_owned(),
        Err(error) => format!("{error:#}"),
    };
    if delivered >= options.max_deliver {
        park::<L>(bus, &message, &problem, shutdown).await;
        counted("parked");
        return Some(key);
    }
    span.in_scope(|| tracing::debug!(outcome, problem, "event not applied, will be redelivered"));
    if let Err(error) = message
        .ack_with(AckKind::Nak(Some(options.retry_delay(delivered))))
        .await
    {
        tracing::warn!(%subject, error = %error, "nak failed; the event will be redelivered");
    }
    Some(key)
}

/// The trace context the message was published in, if any.
fn traceparent(message: &Message) -> Option<&str> {
    let headers = message.headers.as_ref()?;
    Some(headers.get(propagation::TRACEPARENT)?.as_str())
}

/// Seconds from `stored_nanos` after the epoch (the stream's clock) to now; 0 when the clocks
/// disagree.
fn since(stored_nanos: i128) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_nanos() as i128);
    (now - stored_nanos).max(0) as f64 / 1e9
}

/// Logs the message with its payload, copies it to the parked stream, and ends its delivery.
///
/// A copy the parked stream does not take (the bus away, the stream full) is tried again until
/// it is taken: the message may be on its last delivery, and then nothing would bring it back.
/// Only a stop ends the trying, leaving the message unacknowledged; the log names its place in
/// the events stream, where it stays.
async fn park<L: Listener>(
    bus: &Bus,
    message: &Message,
    reason: &str,
    shutdown: &CancellationToken,
) {
    let subject = L::Event::SUBJECT;
    let payload = String::from_utf8_lossy(&message.payload);
    tracing::error!(%subject, queue_group = L::QUEUE_GROUP, reason, %payload, "parking an event");
    let parked_subject = bus.namespace().parked_subject(L::QUEUE_GROUP);
    let sequence = message
        .info()
        .map(|info| info.stream_sequence)
        .unwrap_or_default();
    let parked_id = format!("{}-{sequence}", L::QUEUE_GROUP);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match bus
            .publish_raw(
                &parked_subject,
                message.payload.clone(),
                &parked_id,
                traceparent(message),
            )
            .await
        {
            Ok(_) => {
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(%subject, error = %error, "could not end delivery of a parked event");
                }
                return;
            }
            Err(error) => {
                if shutdown.is_cancelled() {
                    tracing::error!(%subject, sequence, error = %error, "stopping with an event not parked: it stays in the events stream");
                    return;
                }
                tracing::error!(%subject, sequence, error = %error, "parking failed, trying again");
                pause(shutdown, backoff.next_delay()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_24_hex_digits_and_a_malformed_one_is_named() {
        let id = "5f1c9a7e2d4b3a0012345678";
        assert_eq!(
            event_id("order", id).map(|id| id.to_hex()).ok(),
            Some(id.to_owned())
        );
        let error = event_id("ticket", "nope")
            .err()
            .map(|error| error.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|error| error.starts_with("malformed ticket id \"nope\"")),
            "{error:?}"
        );
    }

    #[test]
    fn version_rules() {
        assert_eq!(Outcome::for_versions(3, 4), None);
        assert_eq!(Outcome::for_versions(3, 3), Some(Outcome::Done));
        assert_eq!(Outcome::for_versions(3, 1), Some(Outcome::Done));
        assert_eq!(Outcome::for_versions(3, 5), Some(Outcome::NotYet));
    }

    #[test]
    fn one_key_at_a_time_in_arrival_order_other_keys_at_once() {
        let mut in_order = InOrder::default();
        assert_eq!(in_order.admit("a".to_owned(), 1), Some(1));
        assert_eq!(in_order.admit("a".to_owned(), 2), None);
        assert_eq!(
            in_order.admit("b".to_owned(), 3),
            Some(3),
            "another key starts at once"
        );
        assert_eq!(in_order.admit("a".to_owned(), 4), None);
        assert_eq!(in_order.queued(), 2);

        assert_eq!(in_order.finished("a"), Some(2));
        assert_eq!(in_order.finished("b"), None);
        assert_eq!(
            in_order.admit("b".to_owned(), 5),
            Some(5),
            "b is free again"
        );
        assert_eq!(in_order.finished("a"), Some(4));
        assert_eq!(in_order.queued(), 0);
        assert_eq!(in_order.finished("a"), None);
        assert_eq!(
            in_order.admit("a".to_owned(), 6),
            Some(6),
            "a is free again"
        );
        assert_eq!(in_order.finished("unknown"), None);
    }

    #[test]
    fn draining_gives_back_every_queued_item() {
        let mut in_order = InOrder::default();
        for item in 0..5 {
            in_order.admit(format!("key-{}", item % 2), item);
        }
        let mut drained: Vec<_> = in_order.drain().collect();
        drained.sort_unstable();
        assert_eq!(
            drained,
            [2, 3, 4],
            "the first of each key was in flight, not queued"
        );
        assert_eq!(in_order.queued(), 0);
        assert_eq!(in_order.admit("key-0".to_owned(), 9), Some(9));
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let options = ListenerOptions::default();
        assert_eq!(options.retry_delay(1), Duration::from_millis(20));
        assert_eq!(options.retry_delay(2), Duration::from_millis(40));
        assert_eq!(options.retry_delay(4), Duration::from_millis(160));
        assert_eq!(options.retry_delay(50), Duration::from_secs(30));
        assert_eq!(options.retry_delay(i64::MAX), Duration::from_secs(30));
    }
}
