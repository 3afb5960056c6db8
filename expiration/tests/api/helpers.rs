//! The expiration service's replicas, its job queue, and watching what it publishes; the
//! harness itself is `common::testing`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::bus::{BusSettings, access};
use common::config::{Listen, Secret};
use common::events::{Event, ExpirationComplete, OrderCreated, OrderCreatedTicket, OrderStatus};
use common::server::Server;
use common::testing::events::published;
use expiration::Config;
use futures_util::StreamExt;
use mongodb::bson::oid::ObjectId;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What one test's replicas share: a bus namespace and a job queue of their own (the service
/// keeps no database).
#[derive(Clone, derive_more::Deref)]
pub(crate) struct Backing {
    #[deref]
    shared: common::testing::Backing,
    pub(crate) redis_url: String,
    pub(crate) queue: String,
}

impl Backing {
    /// A fresh namespace on the shared NATS server and a fresh queue on the shared Redis.
    pub(crate) async fn new() -> Backing {
        Backing::on_nats(common::testing::bus_settings()).await
    }

    /// A fresh queue, with the bus as `bus_settings` say.
    pub(crate) async fn on_nats(bus_settings: BusSettings) -> Backing {
        let shared =
            common::testing::Backing::without_database(access::EXPIRATION, bus_settings).await;
        Backing {
            shared,
            redis_url: common::testing::redis_url(),
            queue: format!("test:{}", ObjectId::new().to_hex()),
        }
    }

    /// The configuration of a replica (each with its own `NATS_CLIENT_ID`, as pods have).
    pub(crate) fn config(&self) -> Config {
        let mut bus = self.bus_settings.clone();
        bus.client_id = format!("expiration-{}", ObjectId::new().to_hex());
        Config {
            listen: Listen::loopback_any_port(),
            bus,
            listener: common::testing::listener_options(),
            redis_url: Secret::new(self.redis_url.clone()),
            queue: self.queue.clone(),
        }
    }

    /// Builds a replica.
    pub(crate) async fn build(&self) -> Server {
        expiration::build(self.config())
            .await
            .expect("the application builds")
    }

    /// Starts a replica that runs until the test ends; its base URL.
    pub(crate) async fn spawn_app(&self) -> String {
        common::testing::http::spawn(self.build().await)
    }

    /// Starts a replica that runs until the test ends, with a client of its ports (its
    /// metrics, say).
    pub(crate) async fn spawn_test_app(&self) -> common::testing::TestApp<()> {
        common::testing::TestApp::spawn(self.build().await, ())
    }

    /// Starts a replica that can be stopped, gracefully or not.
    pub(crate) async fn start(&self) -> Replica {
        let (stop, stopped) = oneshot::channel::<()>();
        let (_, task) = common::testing::http::spawn_until(self.build().await, async {
            let _ = stopped.await;
        });
        Replica { stop, task }
    }

    /// How many jobs the queue holds (scheduled, running or done).
    pub(crate) async fn jobs_stored(&self) -> usize {
        let client = redis::Client::open(self.redis_url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys = apalis_redis::Config::default().queue(&self.queue);
        redis::cmd("HLEN")
            .arg(keys.job_data_hash())
            .query_async(&mut connection)
            .await
            .unwrap()
    }

    /// Every `expiration:complete` the stream holds.
    pub(crate) async fn expirations(&self) -> Vec<ExpirationComplete> {
        published::<ExpirationComplete>(&self.bus).await
    }

    /// Every `expiration:complete` the stream holds, or why it cannot be read (NATS is away).
    async fn try_expirations(&self) -> anyhow::Result<Vec<ExpirationComplete>> {
        let subject = self.bus.namespace().subject(ExpirationComplete::SUBJECT);
        let mut stream = self
            .bus
            .jetstream()
            .get_stream(self.bus.namespace().stream())
            .await?;
        let last = stream.info().await?.state.last_sequence;
        let mut events = Vec::new();
        for sequence in 1..=last {
            let message = stream.get_raw_message(sequence).await?;
            if message.subject.as_str() == subject {
                events.push(serde_json::from_slice(&message.payload)?);
            }
        }
        Ok(events)
    }

    /// Waits (up to `limit`) until the stream holds `count` `expiration:complete`; returns them.
    /// While the stream cannot be read, it keeps trying.
    pub(crate) async fn wait_for_expirations(
        &self,
        count: usize,
        limit: Duration,
    ) -> Vec<ExpirationComplete> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let last = match self.try_expirations().await {
                Ok(events) if events.len() >= count => return events,
                Ok(events) => format!("{} of {count} published", events.len()),
                Err(error) => format!("the stream cannot be read: {error}"),
            };
            assert!(
                tokio::time::Instant::now() < deadline,
                "not {count} expiration:complete within {limit:?}: {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts recording every `expiration:complete` sent on the wire, with when it arrived.
    pub(crate) async fn watch(&self) -> Watch {
        let client = self.bus.jetstream().client();
        let subject = self.bus.namespace().subject(ExpirationComplete::SUBJECT);
        let mut subscriber = client.subscribe(subject).await.unwrap();
        client.flush().await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let arrived = Utc::now();
                let event: ExpirationComplete = serde_json::from_slice(&message.payload).unwrap();
                let message_id = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get("Nats-Msg-Id"))
                    .map(|id| id.to_string());
                record.lock().unwrap().push(Sighting {
                    event,
                    message_id,
                    arrived,
                });
            }
        });
        Watch { seen }
    }
}

/// A replica started with [`Backing::start`].
pub(crate) struct Replica {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Replica {
    /// Stops it as SIGTERM would, and waits until it has.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }

    /// Kills it: every task of it is dropped where it stands.
    pub(crate) async fn kill(self) {
        self.task.abort();
        assert!(self.task.await.unwrap_err().is_cancelled());
    }
}

/// One `expiration:complete` seen on the wire.
#[derive(Debug, Clone)]
pub(crate) struct Sighting {
    pub(crate) event: ExpirationComplete,
    pub(crate) message_id: Option<String>,
    pub(crate) arrived: DateTime<Utc>,
}

/// What a subscriber to `expiration:complete` has seen so far. Unlike the stream, it also sees
/// publishes the stream dropped as duplicates.
pub(crate) struct Watch {
    seen: Arc<Mutex<Vec<Sighting>>>,
}

impl Watch {
    pub(crate) fn seen(&self) -> Vec<Sighting> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to `limit`) until `count` have been seen; returns them.
    pub(crate) async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Sighting> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let seen = self.seen();
            if seen.len() >= count {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "saw only {} of {count} expiration:complete within {limit:?}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// `order:created` for a new order expiring at `expires_at`, as the orders service publishes it.
pub(crate) fn order_created(expires_at: DateTime<Utc>) -> OrderCreated {
    OrderCreated {
        id: ObjectId::new().to_hex(),
        version: 0,
        status: OrderStatus::Created,
        user_id: ObjectId::new().to_hex(),
        // The wire carries milliseconds.
        expires_at: truncate_to_millis(expires_at),
        ticket: OrderCreatedTicket {
            id: ObjectId::new().to_hex(),
            price: 20.0,
        },
    }
}

/// `at` plus `millis` milliseconds.
pub(crate) fn after(at: DateTime<Utc>, millis: i64) -> DateTime<Utc> {
    at + chrono::Duration::milliseconds(millis)
}

fn truncate_to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap()
}

/// Sleeps until `at`.
pub(crate) async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

pub(crate) use common::testing::{added, assert_added};
