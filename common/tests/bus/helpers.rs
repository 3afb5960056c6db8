//! A bus of its own per test, a recording listener, and a nats-server that takes only the
//! bus users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::bus::listener::{Listener, ListenerOptions, Outcome};
use common::bus::{Bus, BusSettings, Namespace};
use common::events::ExpirationComplete;
use common::testing::secured::BusPasswords;
use mongodb::bson::oid::ObjectId;

/// A bus in a namespace no other test uses.
pub(crate) async fn test_bus() -> Bus {
    let namespace = Namespace::prefixed(format!("t{}", ObjectId::new().to_hex()));
    Bus::connect(&common::testing::nats_url(), "bus-test", namespace)
        .await
        .unwrap()
}

/// The test database through a client that counts its commands (`mongodb_commands_total`),
/// and the turn to read those counts: they are the process's, and `cargo test` runs a binary's
/// tests at once, so the tests that count run one at a time. Hold the turn for the whole test.
pub(crate) async fn counting_database() -> (tokio::sync::MutexGuard<'static, ()>, mongodb::Database)
{
    use common::mongo::{Commands, connect_with};
    static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let turn = COUNTING.lock().await;
    let database = connect_with(&common::testing::mongo_uri(), "test", Commands::Counted)
        .await
        .unwrap();
    (turn, database)
}

/// Fast retries, so redelivery tests take milliseconds.
pub(crate) fn quick_options(max_deliver: i64) -> ListenerOptions {
    ListenerOptions {
        ack_wait: Duration::from_secs(5),
        max_deliver,
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(50),
        ..ListenerOptions::default()
    }
}

/// Runs `listener` on `bus` with [`quick_options`] for the rest of the test.
pub(crate) fn listen<L: Listener>(bus: &Bus, listener: L) {
    tokio::spawn(common::bus::listener::run(
        bus.clone(),
        listener,
        quick_options(10),
        tokio_util::sync::CancellationToken::new(),
    ));
}

/// What a recording listener does with an event.
#[derive(Clone, Copy)]
pub(crate) enum Script {
    /// Apply it.
    Apply,
    /// Answer `NotYet` for the first `n` deliveries of each event, then apply.
    NotYetTimes(usize),
    /// Fail every time.
    AlwaysFail,
}

/// Records every delivery (by order id) and which replica applied it.
#[derive(Clone)]
pub(crate) struct Recorder {
    pub(crate) replica: &'static str,
    pub(crate) script: Script,
    pub(crate) deliveries: Arc<Mutex<HashMap<String, usize>>>,
    pub(crate) applied: Arc<Mutex<Vec<(String, &'static str)>>>,
}

impl Recorder {
    pub(crate) fn new(replica: &'static str, script: Script) -> Self {
        Recorder {
            replica,
            script,
            deliveries: Arc::default(),
            applied: Arc::default(),
        }
    }

    /// Another replica sharing this one's records.
    pub(crate) fn replica(&self, replica: &'static str) -> Self {
        Recorder {
            replica,
            ..self.clone()
        }
    }

    pub(crate) fn applied_ids(&self) -> Vec<String> {
        self.applied
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub(crate) fn deliveries_of(&self, id: &str) -> usize {
        self.deliveries
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }
}

impl Listener for Recorder {
    type Event = ExpirationComplete;
    const QUEUE_GROUP: &'static str = "orders-service";

    async fn on_message(&self, event: ExpirationComplete) -> anyhow::Result<Outcome> {
        let delivery = {
            let mut deliveries = self.deliveries.lock().unwrap();
            let count = deliveries.entry(event.order_id.clone()).or_default();
            *count += 1;
            *count
        };
        match self.script {
            Script::AlwaysFail => anyhow::bail!("the database is down"),
            Script::NotYetTimes(times) if delivery <= times => Ok(Outcome::NotYet),
            Script::Apply | Script::NotYetTimes(_) => {
                self.applied
                    .lock()
                    .unwrap()
                    .push((event.order_id, self.replica));
                Ok(Outcome::Done)
            }
        }
    }
}

/// Polls `condition` every 20 ms for up to 10 s.
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// How many messages a stream holds.
pub(crate) async fn stream_messages(bus: &Bus, stream: &str) -> u64 {
    let mut stream = bus.jetstream().get_stream(stream).await.unwrap();
    stream.info().await.unwrap().state.messages
}

/// The pending (undelivered + unacknowledged) count of a listener's durable consumer.
pub(crate) async fn consumer_backlog(bus: &Bus) -> (u64, usize) {
    let mut consumer = common::bus::listener::durable_consumer::<ExpirationComplete>(
        bus,
        "orders-service",
        &quick_options(10),
    )
    .await
    .unwrap();
    let info = consumer.info().await.unwrap();
    (info.num_pending, info.num_ack_pending)
}

/// Waits (up to 10 s) until `stream` holds at least `count` messages.
pub(crate) async fn wait_for_stream(bus: &Bus, stream: &str, count: u64) {
    for _ in 0..500 {
        if stream_messages(bus, stream).await >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{stream} never held {count} messages");
}

/// A nats-server that accepts only the bus users of `passwords`, in the production namespace.
pub(crate) fn secured_nats(
    passwords: &BusPasswords,
    store: &common::testing::TempDir,
) -> devservers::ServerProcess {
    let program = devservers::find_program("nats-server").expect("nats-server is installed");
    devservers::nats::start_secured(
        &program,
        &store.0,
        0,
        &passwords.authorization(&Namespace::none()),
        devservers::process::discard(),
    )
    .unwrap()
}

/// How `user` connects to the server on `port` with its password from `passwords`.
pub(crate) fn settings(port: u16, passwords: &BusPasswords, user: &str) -> BusSettings {
    BusSettings {
        url: format!("nats://127.0.0.1:{port}"),
        client_id: format!("{user}-test"),
        namespace: Namespace::none(),
        credentials: Some(passwords.credentials(user)),
        limits: common::bus::StreamLimits::for_tests(),
    }
}
