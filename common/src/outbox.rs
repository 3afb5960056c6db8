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
//! The relay is woken right after a commit ([`Outbox::wake`]) and also polls, so records
//! written by another replica or before a restart are not forgotten.

use std::sync::Arc;
use std::time::Duration;

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
use crate::telemetry::propagation;

/// How often the relay looks for records nobody woke it for.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Records published per database read.
const BATCH: i64 = 100;
/// The longest wait between retries while NATS or the database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the relay keeps trying to flush at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

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
            _pending: Arc::new(pending),
        }
    }

    /// Records `event` inside the caller's transaction on `session`. Services record through
    /// [`Outbox::transaction`], which calls this and wakes the relay after the commit.
    pub async fn add<E: Event>(
        &self,
        session: &mut ClientSession,
        event: &E,
    ) -> mongodb::error::Result<()> {
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
        self.records.insert_one(record).session(session).await?;
        Ok(())
    }

    /// Tells the relay there is something to publish (call after the commit).
    pub fn wake(&self) {
        self.wake.notify_one();
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
    /// through [`Transaction::add`] commit with its writes, and the relay is woken after the
    /// commit; a run that records none (it found nothing to change) wakes nobody.
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
                    recorded: false,
                };
                let value = body(&mut transaction, context.clone()).await?;
                Ok((value, transaction.recorded))
            })
            .instrument(span)
            .await?;
        if recorded {
            self.wake();
        }
        Ok(value)
    }

    /// How many records wait to be published.
    pub async fn pending(&self) -> anyhow::Result<u64> {
        Ok(self.records.count_documents(doc! {}).await?)
    }

    /// Publishes every pending record, oldest first; returns how many.
    ///
    /// A batch is sent in order, then its acknowledgements are awaited, then the acknowledged
    /// records are deleted at once: three round trips per batch rather than per record. When
    /// an acknowledgement fails, only the records before it are deleted; the rest are sent
    /// again later, and the stream drops any it already stored as duplicates.
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
            if batch.is_empty() {
                return Ok(published);
            }
            let started = std::time::Instant::now();
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
                published += stored.len();
                metrics::counter!("outbox_events_published_total").increment(stored.len() as u64);
            }
            if let Some(error) = failure {
                return Err(error);
            }
        }
    }
}

/// One run of an [`Outbox::transaction`] body: its session, and the outbox its events go to.
pub struct Transaction<'a> {
    session: &'a mut ClientSession,
    outbox: &'a Outbox,
    recorded: bool,
}

impl Transaction<'_> {
    /// The session every write of the change goes through (`.session(transaction.session())`).
    pub fn session(&mut self) -> &mut ClientSession {
        self.session
    }

    /// Records `event`, to be published once the transaction commits.
    pub async fn add<E: Event>(&mut self, event: &E) -> mongodb::error::Result<()> {
        self.outbox.add(self.session, event).await?;
        self.recorded = true;
        Ok(())
    }
}

/// Publishes the outbox until `shutdown`, then flushes what is left (for a few seconds).
pub async fn run_relay(outbox: Outbox, bus: Bus, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);
    while !shutdown.is_cancelled() {
        let wait = match outbox.relay_pending(&bus).await {
            Ok(_) => {
                backoff.reset();
                POLL_INTERVAL
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "outbox relay failed, retrying");
                backoff.next_delay()
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => {},
            () = outbox.wake.notified() => {},
            () = tokio::time::sleep(wait) => {},
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
