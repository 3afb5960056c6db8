//! The transactional outbox: no event is lost between a database write and its publish.
//!
//! An event's record is written in the same write, or the same transaction, as the change it
//! records, and mostly into the changed document itself: its [`FIELD`] array, in the
//! collections the service named ([`Outbox::keep_events_in`]). A change to one document is then
//! one write, without a transaction ([`Outbox::record`], [`Outbox::written`]); a change to
//! several is one MongoDB transaction ([`Outbox::transaction`]) whose body puts the record into
//! the document it belongs to ([`Transaction::keep`]). An event of a transaction that belongs
//! to no one document goes into the `outbox` collection ([`Transaction::add`]).
//!
//! A relay ([`run_relay`]) publishes pending records oldest first, each with the record's id
//! as `Nats-Msg-Id`, and removes a record (deletes it, or pulls it from its document) only
//! after JetStream acknowledged it. So:
//! - a crash after the write and before the publish leaves the record, which the relay (of
//!   this replica after a restart, or of another) publishes later;
//! - a crash after the publish and before the removal publishes the record again, and the
//!   stream drops it as a duplicate of the same message id;
//! - while NATS is down, records wait and the relay retries with backoff.
//!
//! A transaction that commits, or a document's write, hands its records to the relay in memory,
//! and the relay publishes them at once, without reading them back. It removes them a little
//! later ([`REMOVAL_DELAY`]), with one command per collection for all it published meanwhile
//! (at most [`BATCH`]): a command that removes many costs the database far less per record.
//! The relay also polls the collections every [`POLL_INTERVAL`] (and right away after a
//! failure, or when woken with [`Outbox::wake`]), so records written by another replica or
//! before a restart, or whose publish failed, are not forgotten. A record handed
//! over and read by a poll at once is published twice under one message id, and the stream
//! keeps one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
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
/// Records (or documents holding records) read and published at once; also the most records
/// published from what was handed over that wait to be removed together.
pub const BATCH: i64 = 100;
/// How long a record published from what was handed over waits, at most, to be removed
/// together with the records published after it ([`Published`]).
const REMOVAL_DELAY: Duration = Duration::from_millis(50);
/// The longest wait between retries while NATS or the database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the relay keeps trying to flush at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most records handed to the relay and not yet published; past it, the relay's next poll
/// finds the rest in the collection.
const HANDED_LIMIT: usize = 1000;
/// The most documents holding unreadable records one poll of a collection steps over; past
/// it, the poll ends there (and says so).
const UNREADABLE_LIMIT: usize = 1000;

/// The field of a document that holds the records of its own changes' events, in the
/// collections named with [`Outbox::keep_events_in`].
pub const FIELD: &str = "outbox";

/// The collection of the records that belong to no one document ([`Transaction::add`]).
const COLLECTION: &str = "outbox";

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

/// Where a record waits until it is published.
#[derive(Debug, Clone, PartialEq)]
enum Home {
    /// The `outbox` collection.
    Outbox,
    /// The [`FIELD`] array of the document `id` of `collection`, whose change it records.
    Document { collection: String, id: Bson },
}

/// A record, and where it waits.
#[derive(Debug, Clone)]
struct Pending {
    record: OutboxRecord,
    home: Home,
}

impl Pending {
    /// `record`, waiting in the `outbox` collection.
    fn in_outbox(record: OutboxRecord) -> Pending {
        Pending {
            record,
            home: Home::Outbox,
        }
    }

    /// `record`, waiting in the [`FIELD`] array of the document `id` of `collection`.
    fn in_document(record: OutboxRecord, collection: &str, id: Bson) -> Pending {
        Pending {
            record,
            home: Home::Document {
                collection: collection.to_owned(),
                id,
            },
        }
    }
}

/// Records the relay published from what was handed over, and has not yet removed from where
/// they waited. Their removals wait to share one command: the database's work per record
/// removed falls about threefold from one record a command to sixteen, and a published record
/// left in place a little longer costs nothing but a duplicate, which the stream drops, if the
/// service stops before removing it.
#[derive(Default)]
struct Published {
    records: Vec<(ObjectId, Home)>,
    /// When the oldest of them was published.
    since: Option<Instant>,
}

impl Published {
    fn add(&mut self, stored: Vec<(ObjectId, Home)>) {
        if !stored.is_empty() {
            self.since.get_or_insert_with(Instant::now);
            self.records.extend(stored);
        }
    }

    /// When they are due for removal: [`REMOVAL_DELAY`] after the oldest was published; `None`
    /// when there are none.
    fn due_at(&self) -> Option<Instant> {
        self.since.map(|since| since + REMOVAL_DELAY)
    }

    /// Whether they are due: [`BATCH`] of them wait, or the oldest waited [`REMOVAL_DELAY`].
    fn due(&self) -> bool {
        self.records.len() >= BATCH as usize
            || self.due_at().is_some_and(|due| Instant::now() >= due)
    }

    fn take(&mut self) -> Vec<(ObjectId, Home)> {
        self.since = None;
        std::mem::take(&mut self.records)
    }
}

/// A service's outbox. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    records: Collection<OutboxRecord>,
    /// The collections whose documents keep their own events ([`Outbox::keep_events_in`]).
    documents: Arc<Mutex<Vec<String>>>,
    wake: Arc<Notify>,
    /// Records committed in this process, for the relay to publish without reading them.
    handed: Arc<Mutex<Vec<Pending>>>,
    /// Whether the relay should read the collection before it waits again.
    poll: Arc<AtomicBool>,
    /// Counts the records waiting at each scrape (`outbox_records_pending{database}`) while a
    /// clone lives.
    _pending: Arc<crate::metrics::Collected>,
}

impl Outbox {
    /// The `outbox` collection of `database`.
    pub fn new(database: &Database) -> Outbox {
        let records: Collection<OutboxRecord> = database.collection(COLLECTION);
        let documents: Arc<Mutex<Vec<String>>> = Arc::default();
        let (counted, named) = (database.clone(), documents.clone());
        let pending = crate::metrics::collect_at_scrape(Arc::new(move || {
            let (database, named) = (counted.clone(), lock(&named).clone());
            Box::pin(async move {
                if let Ok(pending) = count_pending(&database, &named).await {
                    let name = database.name().to_owned();
                    metrics::gauge!("outbox_records_pending", "database" => name)
                        .set(pending as f64);
                }
            })
        }));
        Outbox {
            records,
            documents,
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
        let record = self.record(event)?;
        self.records.insert_one(&record).session(session).await?;
        Ok(record)
    }

    /// Lets the documents of `collection` keep the records of their own changes' events, in
    /// their [`FIELD`] array: the relay polls it from now on. Named once, when the service
    /// builds what writes the collection, before the relay starts.
    pub fn keep_events_in(&self, collection: &str) {
        if !self.keeps_events_in(collection) {
            lock(&self.documents).push(collection.to_owned());
        }
    }

    /// Creates the index through which the relay finds the documents with pending records
    /// (idempotent), in each collection named with [`Outbox::keep_events_in`].
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let pending = crate::mongo::index("pending_events", doc! { format!("{FIELD}._id"): 1 });
        for collection in self.document_collections() {
            collection.create_index(pending.clone()).await?;
        }
        Ok(())
    }

    /// The record of `event`, with the current span's trace context: for a change to one
    /// document to write into its [`FIELD`] array in the same write ([`document_keeping`],
    /// [`push_kept`]), then hand over with [`Outbox::written`].
    pub fn record<E: Event>(&self, event: &E) -> mongodb::error::Result<OutboxRecord> {
        let payload = serde_json::to_string(event).map_err(|error| {
            mongodb::error::Error::custom(format!("serializing an event: {error}"))
        })?;
        Ok(OutboxRecord {
            id: ObjectId::new(),
            subject: E::SUBJECT,
            payload,
            created_at: DateTime::now(),
            traceparent: propagation::traceparent(&tracing::Span::current()),
        })
    }

    /// Gives the relay `records`, written into the [`FIELD`] array of the document `id` of
    /// `collection`, to publish.
    pub fn written(&self, collection: &str, id: impl Into<Bson>, records: Vec<OutboxRecord>) {
        let id = id.into();
        self.hand_over(
            records
                .into_iter()
                .map(|record| Pending::in_document(record, collection, id.clone()))
                .collect(),
        );
    }

    /// The service's database, which holds the `outbox` collection.
    fn database(&self) -> Database {
        self.records.client().database(&self.records.namespace().db)
    }

    /// The collections named with [`Outbox::keep_events_in`].
    fn document_collections(&self) -> Vec<Collection<Document>> {
        let database = self.database();
        lock(&self.documents)
            .iter()
            .map(|name| database.collection(name))
            .collect()
    }

    /// Whether the documents of `collection` keep their own events.
    fn keeps_events_in(&self, collection: &str) -> bool {
        lock(&self.documents).iter().any(|name| name == collection)
    }

    /// Tells the relay to read the collection: records were committed that it was not handed.
    pub fn wake(&self) {
        self.poll.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Gives the relay `records`, committed, to publish.
    fn hand_over(&self, records: Vec<Pending>) {
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
    fn take_handed(&self) -> Vec<Pending> {
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

    /// How many records wait to be published, in the `outbox` collection and the documents.
    pub async fn pending(&self) -> anyhow::Result<u64> {
        let named = lock(&self.documents).clone();
        count_pending(&self.database(), &named).await
    }

    /// Publishes every pending record, in batches of [`BATCH`] (see [`Outbox::publish`]), the
    /// `outbox` collection's first and then each collection's whose documents keep their own,
    /// oldest first within each; returns how many. A batch smaller than that was the last.
    pub async fn relay_pending(&self, bus: &Bus) -> anyhow::Result<usize> {
        let mut published = 0;
        let mut oldest = None;
        loop {
            let batch: Vec<Pending> = self
                .records
                .find(doc! {})
                .sort(doc! { "_id": 1 })
                .limit(BATCH)
                .await?
                .map_ok(Pending::in_outbox)
                .try_collect()
                .await?;
            oldest = oldest.or_else(|| oldest_of(&batch));
            let last = batch.len() < BATCH as usize;
            published += self.publish(bus, batch).await?;
            if last {
                break;
            }
        }
        for collection in self.document_collections() {
            // Documents holding a record that cannot be read are left out of the later
            // batches, so each full batch publishes something or sets documents aside.
            let mut unreadable = Vec::new();
            loop {
                let read = pending_in(&collection, &unreadable).await?;
                oldest = [oldest, oldest_of(&read.batch)].into_iter().flatten().min();
                published += self.publish(bus, read.batch).await?;
                unreadable.extend(read.unreadable);
                if read.documents < BATCH as usize {
                    break;
                }
                if unreadable.len() >= UNREADABLE_LIMIT {
                    tracing::warn!(
                        collection = collection.name(),
                        documents = unreadable.len(),
                        "too many documents hold outbox records that cannot be read; \
                         this poll stops short of the rest"
                    );
                    break;
                }
            }
        }
        let age = oldest.map_or(0.0, |created: DateTime| {
            let age = DateTime::now().timestamp_millis() - created.timestamp_millis();
            age.max(0) as f64 / 1000.0
        });
        metrics::gauge!("outbox_oldest_record_seconds").set(age);
        Ok(published)
    }

    /// Publishes `batch` and removes what the stream acknowledged; returns how many.
    ///
    /// The batch is sent in order, then its acknowledgements are awaited, then the acknowledged
    /// records are removed, one command per collection they wait in: two round trips per
    /// batch rather than per record. When an acknowledgement fails, only the records before it
    /// are removed; the rest are sent again later, and the stream drops any it already stored
    /// as duplicates.
    async fn publish(&self, bus: &Bus, batch: Vec<Pending>) -> anyhow::Result<usize> {
        let (stored, failure) = self.send(bus, batch).await;
        let published = stored.len();
        self.remove(stored).await?;
        match failure {
            Some(error) => Err(error),
            None => Ok(published),
        }
    }

    /// Publishes `batch` in order, and waits for JetStream to acknowledge each record: answers
    /// the records it stored, up to the first failure, and that failure.
    async fn send(
        &self,
        bus: &Bus,
        batch: Vec<Pending>,
    ) -> (Vec<(ObjectId, Home)>, Option<anyhow::Error>) {
        if batch.is_empty() {
            return (Vec::new(), None);
        }
        let started = Instant::now();
        let mut sent = Vec::with_capacity(batch.len());
        let mut failure = None;
        for Pending { record, home } in batch {
            let subject = bus.namespace().subject(record.subject);
            let payload = record.payload.into_bytes().into();
            let (id, trace) = (record.id.to_hex(), record.traceparent.as_deref());
            match bus.send_raw(&subject, payload, &id, trace).await {
                Ok(ack) => sent.push(((record.id, home), ack)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let mut stored = Vec::with_capacity(sent.len());
        for (record, ack) in sent {
            if let Err(error) = ack.await {
                failure = Some(error);
                break;
            }
            stored.push(record);
        }
        metrics::histogram!("outbox_publish_seconds").record(started.elapsed().as_secs_f64());
        metrics::counter!("outbox_events_published_total").increment(stored.len() as u64);
        (stored, failure)
    }

    /// Publishes the records handed over, and removes those published since the last removal
    /// once they are due ([`Published::due`]).
    async fn relay_handed(
        &self,
        bus: &Bus,
        handed: Vec<Pending>,
        published: &mut Published,
    ) -> anyhow::Result<usize> {
        let (stored, failure) = self.send(bus, handed).await;
        let count = stored.len();
        published.add(stored);
        if published.due() {
            self.remove(published.take()).await?;
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(count),
        }
    }

    /// Removes the published records `stored`: deletes those of the `outbox` collection, and
    /// pulls the others from their documents, one command per collection.
    async fn remove(&self, stored: Vec<(ObjectId, Home)>) -> mongodb::error::Result<()> {
        if stored.is_empty() {
            return Ok(());
        }
        let mut outbox = Vec::new();
        let mut documents: BTreeMap<String, (Vec<Bson>, Vec<ObjectId>)> = BTreeMap::new();
        for (record, home) in stored {
            match home {
                Home::Outbox => outbox.push(record),
                Home::Document { collection, id } => {
                    let (ids, records) = documents.entry(collection).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                    records.push(record);
                }
            }
        }
        if !outbox.is_empty() {
            self.records
                .delete_many(doc! { "_id": { "$in": &outbox } })
                .await?;
        }
        let database = self.database();
        for (collection, (ids, records)) in documents {
            database
                .collection::<Document>(&collection)
                .update_many(
                    doc! { "_id": { "$in": ids } },
                    doc! { "$pull": { FIELD: { "_id": { "$in": records } } } },
                )
                .await?;
        }
        Ok(())
    }
}

/// `value` as a document whose [`FIELD`] array holds `record`: the insert of a new document
/// with the event of its creation.
pub fn document_keeping(
    value: &impl Serialize,
    record: &OutboxRecord,
) -> mongodb::error::Result<Document> {
    let mut document = mongodb::bson::to_document(value)?;
    document.insert(FIELD, vec![mongodb::bson::to_bson(record)?]);
    Ok(document)
}

/// Adds to `update` the push of `record` into the document's [`FIELD`] array: a change that
/// records its event in the same write. The update must set fields, never replace the whole
/// document, which would drop the records the relay has not published yet.
pub fn push_kept(update: &mut Document, record: &OutboxRecord) -> mongodb::error::Result<()> {
    let kept = mongodb::bson::to_bson(record)?;
    match update.get_document_mut("$push") {
        Ok(pushes) => {
            pushes.insert(FIELD, kept);
        }
        Err(_) => {
            update.insert("$push", doc! { FIELD: kept });
        }
    }
    Ok(())
}

/// The oldest record's time in `batch`.
fn oldest_of(batch: &[Pending]) -> Option<DateTime> {
    batch.iter().map(|pending| pending.record.created_at).min()
}

/// Matches the documents with a record in their [`FIELD`] array, through its index: every
/// record id is an ObjectId, above the lowest.
fn with_pending() -> Document {
    doc! { format!("{FIELD}._id"): { "$gt": ObjectId::from_bytes([0; 12]) } }
}

/// What one read of a collection's documents found.
struct Read {
    /// Their readable records, oldest first.
    batch: Vec<Pending>,
    /// How many documents were read.
    documents: usize,
    /// The ids of those holding a record that cannot be read.
    unreadable: Vec<Bson>,
}

/// The records pending in up to [`BATCH`] documents of `collection`, but those of the documents
/// `skipped`. A record that cannot be read is left where it is, and said.
async fn pending_in(
    collection: &Collection<Document>,
    skipped: &[Bson],
) -> mongodb::error::Result<Read> {
    let mut filter = with_pending();
    if !skipped.is_empty() {
        filter.insert("_id", doc! { "$nin": skipped });
    }
    let documents: Vec<Document> = collection
        .find(filter)
        .projection(doc! { FIELD: 1 })
        .limit(BATCH)
        .await?
        .try_collect()
        .await?;
    let (mut batch, mut unreadable) = (Vec::new(), Vec::new());
    for document in &documents {
        let Some(id) = document.get("_id") else {
            continue;
        };
        let records = document
            .get_array(FIELD)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for record in records {
            match mongodb::bson::from_bson::<OutboxRecord>(record.clone()) {
                Ok(record) => {
                    batch.push(Pending::in_document(record, collection.name(), id.clone()))
                }
                Err(error) => {
                    tracing::warn!(
                        collection = collection.name(),
                        document = %id,
                        %error,
                        "an outbox record in a document cannot be read; left there"
                    );
                    if unreadable.last() != Some(id) {
                        unreadable.push(id.clone());
                    }
                }
            }
        }
    }
    batch.sort_by_key(|pending| pending.record.id);
    Ok(Read {
        batch,
        documents: documents.len(),
        unreadable,
    })
}

/// The records waiting in the `outbox` collection of `database` and in the documents of its
/// collections `documents`.
async fn count_pending(database: &Database, documents: &[String]) -> anyhow::Result<u64> {
    let mut pending = database
        .collection::<OutboxRecord>(COLLECTION)
        .count_documents(doc! {})
        .await?;
    for name in documents {
        let found: Vec<Document> = database
            .collection::<Document>(name)
            .find(with_pending())
            .projection(doc! { FIELD: 1 })
            .await?
            .try_collect()
            .await?;
        pending += found
            .iter()
            .map(|document| document.get_array(FIELD).map_or(0, Vec::len) as u64)
            .sum::<u64>();
    }
    Ok(pending)
}

/// The records waiting to be published anywhere in `database`: the `outbox` collection and
/// the documents of every other collection. For tests and checks that do not know which
/// collections a service's documents keep their events in.
pub async fn pending_anywhere(database: &Database) -> anyhow::Result<u64> {
    let names: Vec<String> = database
        .list_collection_names()
        .await?
        .into_iter()
        .filter(|name| name != COLLECTION)
        .collect();
    count_pending(database, &names).await
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
    recorded: Vec<Pending>,
}

impl Transaction<'_> {
    /// The session every write of the change goes through (`.session(transaction.session())`).
    pub fn session(&mut self) -> &mut ClientSession {
        self.session
    }

    /// Records `event` in the `outbox` collection, to be published once the transaction
    /// commits: for a change whose event belongs to no one document it writes.
    pub async fn add<E: Event>(&mut self, event: &E) -> mongodb::error::Result<()> {
        let record = self.outbox.add(self.session, event).await?;
        self.recorded.push(Pending::in_outbox(record));
        Ok(())
    }

    /// Records `event` as kept by the document `id` of `collection` (named with
    /// [`Outbox::keep_events_in`]), to be published once the transaction commits. Returns the
    /// record, which the body writes into that document in this transaction
    /// ([`document_keeping`] for its insert, or [`push_kept`]): one write fewer than
    /// [`Transaction::add`].
    pub fn keep<E: Event>(
        &mut self,
        collection: &str,
        id: impl Into<Bson>,
        event: &E,
    ) -> mongodb::error::Result<OutboxRecord> {
        if !self.outbox.keeps_events_in(collection) {
            return Err(mongodb::error::Error::custom(format!(
                "the documents of {collection} do not keep their events: name the collection \
                 with Outbox::keep_events_in first, or the relay never polls them"
            )));
        }
        let record = self.outbox.record(event)?;
        self.recorded
            .push(Pending::in_document(record.clone(), collection, id.into()));
        Ok(record)
    }
}

/// Publishes the outbox until `shutdown`, then flushes what is left (for a few seconds): the
/// records handed over as they come, and the collection at each poll. While publishing fails,
/// only polls retry, with backoff; what was handed over meanwhile waits in the collection.
pub async fn run_relay(outbox: Outbox, bus: Bus, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);
    // The first round polls: records may wait from before a restart.
    let mut next_poll = Instant::now();
    let mut published = Published::default();
    while !shutdown.is_cancelled() {
        let handed = outbox.take_handed();
        let polling = outbox.poll.swap(false, Ordering::AcqRel) || Instant::now() >= next_poll;
        let relayed = if polling {
            // The poll reads every committed record, those just handed over among them; those
            // published and not yet removed go first, or it would publish them again.
            match outbox.remove(published.take()).await {
                Ok(()) => outbox.relay_pending(&bus).await,
                Err(error) => Err(error.into()),
            }
        } else {
            outbox.relay_handed(&bus, handed, &mut published).await
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
        let wake_at = published
            .due_at()
            .map_or(next_poll, |due| due.min(next_poll));
        tokio::select! {
            () = shutdown.cancelled() => {},
            () = outbox.wake.notified() => {},
            () = tokio::time::sleep_until(wake_at.into()) => {},
        }
    }
    // Spawned and timed out by handle: a driver future is never dropped half-way.
    let flush = tokio::spawn(async move {
        outbox.remove(published.take()).await?;
        outbox.relay_pending(&bus).await
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> OutboxRecord {
        OutboxRecord {
            id: ObjectId::new(),
            subject: Subject::ExpirationComplete,
            payload: r#"{"orderId":"o1"}"#.to_owned(),
            created_at: DateTime::now(),
            traceparent: None,
        }
    }

    #[test]
    fn a_new_document_keeps_its_record_beside_its_fields() {
        let record = record();
        let document = document_keeping(&doc! { "_id": 1, "name": "a" }, &record).unwrap();
        assert_eq!(document.get_i32("_id").unwrap(), 1);
        assert_eq!(document.get_str("name").unwrap(), "a");
        let kept = document.get_array(FIELD).unwrap();
        assert_eq!(kept.len(), 1);
        let read: OutboxRecord = mongodb::bson::from_bson(kept[0].clone()).unwrap();
        assert_eq!((read.id, read.payload), (record.id, record.payload));
    }

    #[test]
    fn a_change_pushes_its_record_beside_the_pushes_it_already_makes() {
        let record = record();
        let mut bare = doc! { "$set": { "status": "cancelled" } };
        push_kept(&mut bare, &record).unwrap();
        assert!(bare.get_document("$set").is_ok());
        assert!(bare.get_document("$push").unwrap().contains_key(FIELD));

        let mut pushing = doc! { "$push": { "notes": "n" } };
        push_kept(&mut pushing, &record).unwrap();
        let pushes = pushing.get_document("$push").unwrap();
        assert_eq!(pushes.get_str("notes").unwrap(), "n");
        assert!(pushes.contains_key(FIELD));
    }
}
