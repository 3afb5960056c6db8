//! The transactional outbox: no event is lost between a database write and its publish.
//!
//! A service writes its state change and the event it implies in one MongoDB transaction
//! ([`Outbox::transaction`]): the event goes into the `outbox` collection. A relay
//! ([`run_relay`]) publishes pending records oldest first, each with the record's id as
//! `Nats-Msg-Id`, and deletes a record only after JetStream acknowledged it. So:
//! - a crash after the commit and before the publish leaves the record, which the relay (of
//!   this replica after a restart, or of another) publishes later;
//! - a crash after the publish and before the delete publishes the record again, and the
//!   stream drops it as a duplicate of the same message id;
//! - while NATS is down, records wait and the relay retries with backoff.
//!
//! A transaction that commits hands its records to the relay in memory, and the relay publishes
//! them and deletes them with one command, without reading them back. The relay also polls the
//! collection every [`POLL_INTERVAL`] (and right away after a failure, or when woken with
//! [`Outbox::wake`]), so records written by another replica or before a restart, or whose
//! publish failed, are not forgotten. A record handed over and read by a poll at once is
//! published twice under one message id, and the stream keeps one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::bus::Bus;
use crate::events::{Event, Subject};
use crate::locks::lock;
use crate::telemetry::propagation;

/// How often the relay looks for records nobody woke it for.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Records published per database read.
const BATCH: i64 = 100;
/// The longest wait between retries while NATS or the database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the relay keeps trying to flush at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most records handed to the relay and not yet published; past it, the relay's next poll
/// finds the rest in the collection.
const HANDED_LIMIT: usize = 1000;

/// An event waiting to be published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// Also the message id JetStream de-duplicates on.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The event's subject.
    pub subject: Subject,
    /// The event's JSON, published byte for byte.
    pub payload: String,
    /// When it was recorded.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime,
    /// The W3C trace context of the span that recorded it, sent on as the message's header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// A service's outbox. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    records: Collection<OutboxRecord>,
    wake: Arc<Notify>,
    /// Records committed in this process, for the relay to publish without reading them.
    handed: Arc<Mutex<Vec<OutboxRecord>>>,
    /// Whether the relay should read the collection before it waits again.
    poll: Arc<AtomicBool>,
    /// Counts the records waiting at each scrape (`outbox_records_pending{database}`) while a
    /// clone lives.
    _pending: Arc<crate::metrics::Collected>,
}

impl Outbox {
    /// The `outbox` collection of `database`.
    pub fn new(database: &Database) -> Outbox {
        let records: Collection<OutboxRecord> = database.collection("outbox");
        let counted = records.clone();
        let pending = crate::metrics::collect_at_scrape(Arc::new(move || {
            let records = counted.clone();
            Box::pin(async move {
                if let Ok(pending) = records.count_documents(doc! {}).await {
                    let database = records.namespace().db;
                    metrics::gauge!("outbox_records_pending", "database" => database)
                        .set(pending as f64);
                }
            })
        }));
        Outbox {
            records,
            wake: Arc::new(Notify::new()),
            handed: Arc::default(),
            poll: Arc::default(),
            _pending: Arc::new(pending),
        }
    }

    /// Records `event` inside the caller's transaction on `session`, and returns the record.
    /// Services record through [`Outbox::transaction`], which calls this and hands the records
    /// to the relay after the commit.
    pub async fn add<E: Event>(
        &self,
        session: &mut ClientSession,
        event: &E,
    ) -> mongodb::error::Result<OutboxRecord> {
        let payload = serde_json::to_string(event).map_err(|error| {
            mongodb::error::Error::custom(format!("serializing an event: {error}"))
        })?;
        let record = OutboxRecord {
            id: ObjectId::new(),
            subject: E::SUBJECT,
            payload,
            created_at: DateTime::now(),
            traceparent: propagation::traceparent(&tracing::Span::current()),
        };
        self.records.insert_one(&record).session(session).await?;
        Ok(record)
    }

    /// Tells the relay to read the collection: records were committed that it was not handed.
    pub fn wake(&self) {
        self.poll.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Gives the relay `records`, committed, to publish.
    fn hand_over(&self, records: Vec<OutboxRecord>) {
        if records.is_empty() {
            return;
        }
        let mut handed = lock(&self.handed);
        if handed.len() + records.len() <= HANDED_LIMIT {
            handed.extend(records);
            drop(handed);
            self.wake.notify_one();
        } else {
            drop(handed);
            self.wake();
        }
    }

    /// The records handed over since the last call.
    fn take_handed(&self) -> Vec<OutboxRecord> {
        std::mem::take(&mut *lock(&self.handed))
    }

    /// Runs `body` in one transaction of this outbox's database (the service's: its changes and
    /// their events commit together), and returns what it returns. The one way a service
    /// writes a change and its events.
    ///
    /// The driver runs the body again when the transaction fails transiently (a write conflict
    /// with a concurrent transaction, a lost primary), so every run gets its own clone of
    /// `context`: the collections and values it works on. The body owns what it uses this way;
    /// one borrowing from its caller makes the caller's future fail the compiler's `Send`
    /// check ("implementation of `Send` is not general enough"). The events the body records
    /// through [`Transaction::add`] commit with its writes, and are handed to the relay after
    /// the commit; a run that records none (it found nothing to change) wakes nobody.
    pub async fn transaction<C, R>(
        &self,
        context: C,
        mut body: impl AsyncFnMut(&mut Transaction<'_>, C) -> mongodb::error::Result<R>,
    ) -> mongodb::error::Result<R>
    where
        C: Clone,
    {
        let outbox = self.clone();
        let span = tracing::info_span!("mongodb.transaction");
        let mut session = self.records.client().start_session().await?;
        let (value, recorded) = session
            .start_transaction()
            .and_run2(async move |session| {
                let mut transaction = Transaction {
                    session,
                    outbox: &outbox,
                    recorded: Vec::new(),
                };
                let value = body(&mut transaction, context.clone()).await?;
                Ok((value, transaction.recorded))
            })
            .instrument(span)
            .await?;
        self.hand_over(recorded);
        Ok(value)
    }

    /// How many records wait to be published.
    pub async fn pending(&self) -> anyhow::Result<u64> {
        Ok(self.records.count_documents(doc! {}).await?)
    }

    /// Publishes every pending record, oldest first, in batches of [`BATCH`] (see
    /// [`Outbox::publish`]); returns how many. A batch smaller than that was the last.
    pub async fn relay_pending(&self, bus: &Bus) -> anyhow::Result<usize> {
        let mut published = 0;
        loop {
            let batch: Vec<OutboxRecord> = self
                .records
                .find(doc! {})
                .sort(doc! { "_id": 1 })
                .limit(BATCH)
                .await?
                .try_collect()
                .await?;
            let oldest = batch.first().map_or(0.0, |record| {
                let age = DateTime::now().timestamp_millis() - record.created_at.timestamp_millis();
                age.max(0) as f64 / 1000.0
            });
            metrics::gauge!("outbox_oldest_record_seconds").set(oldest);
            let last = batch.len() < BATCH as usize;
            published += self.publish(bus, batch).await?;
            if last {
                return Ok(published);
            }
        }
    }

    /// Publishes `batch` and deletes what the stream acknowledged; returns how many.
    ///
    /// The batch is sent in order, then its acknowledgements are awaited, then the acknowledged
    /// records are deleted at once: two round trips per batch rather than per record. When an
    /// acknowledgement fails, only the records before it are deleted; the rest are sent again
    /// later, and the stream drops any it already stored as duplicates.
    async fn publish(&self, bus: &Bus, batch: Vec<OutboxRecord>) -> anyhow::Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let mut sent = Vec::with_capacity(batch.len());
        let mut failure = None;
        for record in batch {
            let subject = bus.namespace().subject(record.subject);
            let payload = record.payload.into_bytes().into();
            let (id, trace) = (record.id.to_hex(), record.traceparent.as_deref());
            match bus.send_raw(&subject, payload, &id, trace).await {
                Ok(ack) => sent.push((record.id, ack)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let mut stored = Vec::with_capacity(sent.len());
        for (id, ack) in sent {
            if let Err(error) = ack.await {
                failure = Some(error);
                break;
            }
            stored.push(id);
        }
        metrics::histogram!("outbox_publish_seconds").record(started.elapsed().as_secs_f64());
        if !stored.is_empty() {
            self.records
                .delete_many(doc! { "_id": { "$in": &stored } })
                .await?;
            metrics::counter!("outbox_events_published_total").increment(stored.len() as u64);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(stored.len()),
        }
    }
}

/// Waits until `until` (or `shutdown`) after a failure, dropping what is handed over
/// meanwhile: it is in the collection, which the next poll reads.
async fn wait_failing(outbox: &Outbox, shutdown: &CancellationToken, until: Instant) {
    outbox.poll.store(true, Ordering::Release);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep_until(until.into()) => return,
            () = outbox.wake.notified() => drop(outbox.take_handed()),
        }
    }
}

/// One run of an [`Outbox::transaction`] body: its session, and the outbox its events go to.
pub struct Transaction<'a> {
    session: &'a mut ClientSession,
    outbox: &'a Outbox,
    recorded: Vec<OutboxRecord>,
}

impl Transaction<'_> {
    /// The session every write of the change goes through (`.session(transaction.session())`).
    pub fn session(&mut self) -> &mut ClientSession {
        self.session
    }

    /// Records `event`, to be published once the transaction commits.
    pub async fn add<E: Event>(&mut self, event: &E) -> mongodb::error::Result<()> {
        let record = self.outbox.add(self.session, event).await?;
        self.recorded.push(record);
        Ok(())
    }
}

/// Publishes the outbox until `shutdown`, then flushes what is left (for a few seconds): the
/// records handed over as they come, and the collection at each poll. While publishing fails,
/// only polls retry, with backoff; what was handed over meanwhile waits in the collection.
pub async fn run_relay(outbox: Outbox, bus: Bus, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);
    // The first round polls: records may wait from before a restart.
    let mut next_poll = Instant::now();
    while !shutdown.is_cancelled() {
        let handed = outbox.take_handed();
        let polling = outbox.poll.swap(false, Ordering::AcqRel) || Instant::now() >= next_poll;
        let relayed = if polling {
            // The poll reads every committed record, those just handed over among them.
            outbox.relay_pending(&bus).await
        } else {
            outbox.publish(&bus, handed).await
        };
        match relayed {
            Ok(_) if polling => {
                backoff.reset();
                next_poll = Instant::now() + POLL_INTERVAL;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "outbox relay failed, retrying");
                next_poll = Instant::now() + backoff.next_delay();
                // Until a poll succeeds, what is handed over waits for it.
                wait_failing(&outbox, &shutdown, next_poll).await;
                continue;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {},
            () = outbox.wake.notified() => {},
            () = tokio::time::sleep_until(next_poll.into()) => {},
        }
    }
    // Spawned and timed out by handle: a driver future is never dropped half-way.
    let flush = tokio::spawn(async move { outbox.relay_pending(&bus).await });
    match tokio::time::timeout(FLUSH_TIMEOUT, flush).await {
        Ok(Ok(Ok(count))) => tracing::info!(count, "outbox flushed"),
        Ok(Ok(Err(error))) => {
            tracing::warn!(error = %format!("{error:#}"), "outbox not flushed; pending events stay recorded")
        }
        Ok(Err(_)) | Err(_) => {
            tracing::warn!("outbox flush did not finish; pending events stay recorded")
        }
    }
}
