//! A whole fleet on this machine, as real processes that can be killed and restarted.
//!
//! Each service replica is a child process of `fleet-service NAME` on a fixed port, so a
//! replica that is killed comes back where clients expect it. NATS JetStream is the fleet's own
//! server (it gets restarted), or its own cluster of nodes on loopback, each stream kept by
//! every node ([`FleetOptions::with_nats_cluster`]). MongoDB and Redis are the test harness's
//! shared servers that require credentials, with databases and a job queue of the fleet's own.
//! Stripe is the in-process fake; it delivers its signed webhooks to the first payments replica
//! (in production, Stripe calls one URL and the Gateway picks a replica).
//!
//! Every connection authenticates as in production: each service is its own NATS user with
//! only its permissions ([`common::bus::access`]), its own MongoDB user with rights on its own
//! database only, and expiration signs in to Redis. The tests inspect the bus as the operator
//! and the databases as the administrator.
//!
//! The children are owned by one supervisor thread: devservers ties a child's life to the
//! thread that started it, and the async runtime's threads come and go.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::bus::Namespace;
use common::testing::secured::{self, BusPasswords, SecuredMongo};
use devservers::process::Readiness;
use devservers::{LineSink, ServerProcess};
use mongodb::bson::oid::ObjectId;
use stripe_fake::{Ledger, Options, StripeFake, WebhookTarget};
use tokio::sync::oneshot;

/// The services of the platform that have an HTTP API or listen on the bus, in start order.
pub const SERVICES: [&str; 5] = ["auth", "tickets", "orders", "payments", "expiration"];

/// The email of the fleet's admin (`ADMIN_EMAILS`), who may ban users.
pub const ADMIN_EMAIL: &str = "admin@chaos.test";

/// The Stripe secret key the fleet's payments use with the fake (which takes any).
pub const STRIPE_KEY: &str = "sk_test_chaos";

/// What the fake signs its webhooks with, and payments checks them with.
const WEBHOOK_SECRET: &str = "whsec_chaos";

/// How a fleet is made.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The `fleet-service` binary (`env!("CARGO_BIN_EXE_fleet-service")` in a test).
    pub binary: PathBuf,
    /// Replicas per service (a service not named gets one).
    pub replicas: BTreeMap<&'static str, usize>,
    /// How long a new order waits for payment.
    pub expiration_window: Duration,
    /// Where logs and NATS' store go.
    pub dir: PathBuf,
    /// NATS nodes: 1, a single server; more, a JetStream cluster whose streams have a copy on
    /// each node (`EVENTS_REPLICAS`).
    pub nats_nodes: usize,
}

impl FleetOptions {
    /// Two replicas of tickets, orders and payments (so shared consumers are exercised), one
    /// of auth and expiration; a one-minute window.
    pub fn new(binary: impl Into<PathBuf>, name: &str) -> FleetOptions {
        let dir = std::env::temp_dir()
            .join("ticketing-chaos")
            .join(format!("{name}-{}", ObjectId::new().to_hex()));
        FleetOptions {
            binary: binary.into(),
            replicas: [("tickets", 2), ("orders", 2), ("payments", 2)]
                .into_iter()
                .collect(),
            expiration_window: Duration::from_secs(60),
            dir,
            nats_nodes: 1,
        }
    }

    /// `self` with a JetStream cluster of `nodes` NATS nodes (at most
    /// [`common::bus::MAX_REPLICAS`]), each stream replicated on all of them.
    #[must_use]
    pub fn with_nats_cluster(mut self, nodes: usize) -> FleetOptions {
        self.nats_nodes = nodes.clamp(1, common::bus::MAX_REPLICAS);
        self
    }

    /// `self` with `replicas` replicas of `service`.
    #[must_use]
    pub fn with_replicas(mut self, service: &'static str, replicas: usize) -> FleetOptions {
        self.replicas.insert(service, replicas);
        self
    }

    /// `self` with orders expiring after `window`.
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> FleetOptions {
        self.expiration_window = window;
        self
    }
}

/// One replica of a service.
#[derive(Debug, Clone)]
pub struct Member {
    /// The service.
    pub service: &'static str,
    /// Which replica (0-based).
    pub replica: usize,
    /// Its port on 127.0.0.1, the same across restarts.
    pub port: u16,
}

impl Member {
    /// `tickets-1`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.service, self.replica)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A running fleet. Dropping it stops every process.
pub struct Fleet {
    members: Vec<Member>,
    commands: mpsc::Sender<Order>,
    supervisor: Option<std::thread::JoinHandle<()>>,
    stripe: Stripe,
    mongo: SecuredMongo,
    database_prefix: String,
    nats_url: String,
    nats_passwords: BusPasswords,
    log: PathBuf,
    dir: PathBuf,
    /// Keep the logs and NATS' store when dropped ([`Fleet::keep_logs`]).
    keep: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("members", &self.members)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

type Reply<T> = oneshot::Sender<anyhow::Result<T>>;

/// What the supervisor thread is asked to do.
enum Order {
    /// SIGKILL the member (no grace).
    Kill(usize, Reply<()>),
    /// SIGTERM the member and wait for it to exit (SIGKILL after the grace).
    Terminate(usize, Duration, Reply<()>),
    /// Start the member (again) on its port.
    Start(usize, Reply<()>),
    /// Stop NATS node `node` (SIGTERM, or SIGKILL if `kill`).
    StopNats {
        node: usize,
        kill: bool,
        reply: Reply<()>,
    },
    /// Start NATS node `node` (again) on its ports and store.
    StartNats(usize, Reply<()>),
    /// The member's pid, if it runs.
    Pid(usize, Reply<Option<u32>>),
}

impl Fleet {
    /// Starts NATS, the Stripe fake and every replica, and waits until each is ready.
    pub async fn start(options: FleetOptions) -> anyhow::Result<Fleet> {
        std::fs::create_dir_all(&options.dir)
            .with_context(|| format!("creating {}", options.dir.display()))?;
        let log = options.dir.join("fleet.log");
        let sinks = Sinks::new(&log)?;
        let mongo = secured::secured_mongo();
        let database_prefix = format!("chaos_{}", ObjectId::new().to_hex());
        let mut mongo_uris = BTreeMap::new();
        for service in SERVICES
            .into_iter()
            .filter(|service| *service != "expiration")
        {
            let (_, uri) = mongo
                .user_for(&format!("{database_prefix}_{service}"))
                .await;
            mongo_uris.insert(service, uri);
        }
        let redis_url = secured::secured_redis_url();
        let nats_passwords = BusPasswords::generate();
        let nats_program = devservers::find_program("nats-server")
            .context("nats-server is not installed (Debian: apt-get install nats-server)")?;

        let replicas: Vec<(&'static str, usize)> = SERVICES
            .into_iter()
            .flat_map(|service| {
                let count = options.replicas.get(service).copied().unwrap_or(1);
                (0..count).map(move |replica| (service, replica))
            })
            .collect();
        // One more for a single NATS server; a cluster picks its nodes' ports itself.
        let single = options.nats_nodes < 2;
        let mut ports = devservers::free_ports(replicas.len() + usize::from(single))?;
        let nats_nodes = match options.nats_nodes {
            0 | 1 => NatsNodes::Single(ports.pop().context("no port for NATS")?),
            nodes => NatsNodes::Cluster(devservers::nats::Cluster::new("chaos", nodes)?),
        };
        let members: Vec<Member> = replicas
            .into_iter()
            .zip(ports)
            .map(|((service, replica), port)| Member {
                service,
                replica,
                port,
            })
            .collect();
        let webhook = members
            .iter()
            .find(|member| member.service == "payments")
            .map(|payments| WebhookTarget {
                url: format!("{}/api/payments/webhook", payments.url()),
                secret: WEBHOOK_SECRET.to_owned(),
            });
        let stripe = Stripe::start(webhook).await?;
        let nats_url = nats_nodes.url();
        let mut shared = SharedEnv {
            binary: options.binary.clone(),
            env: vec![
                ("JWT_KEY", common::testing::JWT_KEY.to_owned()),
                ("NATS_URL", nats_url.clone()),
                ("REDIS_URL", redis_url),
                ("EXPIRATION_QUEUE", format!("{database_prefix}-expiration")),
                ("STRIPE_KEY", STRIPE_KEY.to_owned()),
                ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
                ("STRIPE_API_BASE", stripe.base_url.clone()),
                ("STRIPE_TIMEOUT_SECONDS", "2".to_owned()),
                ("RECONCILE_AFTER_SECONDS", "3".to_owned()),
                ("RECONCILE_INTERVAL_SECONDS", "1".to_owned()),
                (
                    "EXPIRATION_WINDOW_SECONDS",
                    options.expiration_window.as_secs().max(1).to_string(),
                ),
                // Rate limits raised far above what the tests send (every user signs in from
                // 127.0.0.1; races and fuzzing repeat one email or order), but kept on, so their
                // code runs through the kills and restarts.
                (
                    "RATE_LIMIT_AUTH_PER_ADDRESS",
                    "100000 then 100000/1s".to_owned(),
                ),
                (
                    "RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS",
                    "100000 then 100000/1s".to_owned(),
                ),
                (
                    "RATE_LIMIT_SIGN_IN_PER_EMAIL",
                    "100000 then 100000/1s".to_owned(),
                ),
                (
                    "RATE_LIMIT_PAYMENTS_PER_ORDER",
                    "100000 then 100000/1s".to_owned(),
                ),
                (
                    "RATE_LIMIT_PAYMENTS_PER_USER",
                    "100000 then 100000/1s".to_owned(),
                ),
                // Raised: the input tests' users hold many unpaid orders at once (each cell of
                // the matrix makes its own); the limit itself is tested by the orders service.
                ("MAX_UNPAID_ORDERS", "100000".to_owned()),
                // Streams of 64 MiB: each fleet's NATS server reserves them in full, and a
                // test machine's disk may be small.
                ("EVENTS_MAX_BYTES", (64 * 1024 * 1024).to_string()),
                // The one user who may ban others: [`ADMIN_EMAIL`].
                ("ADMIN_EMAILS", ADMIN_EMAIL.to_owned()),
                // Warnings, each expiry as it fires (a line per order), and the line that
                // tells the supervisor a replica has bound its port.
                (
                    "RUST_LOG",
                    "warn,expiration=info,common::server=info".to_owned(),
                ),
            ],
            mongo_uris,
            nats_passwords: nats_passwords.clone(),
        };
        if let NatsNodes::Cluster(cluster) = &nats_nodes {
            shared
                .env
                .push(("EVENTS_REPLICAS", cluster.len().to_string()));
        }

        let (commands, received) = mpsc::channel();
        let (started_tx, started_rx) = oneshot::channel();
        let supervisor = {
            let store = options.dir.join("nats");
            std::thread::Builder::new()
                .name("fleet-supervisor".to_owned())
                .spawn(move || {
                    let nats = NatsServer {
                        program: nats_program,
                        store,
                        nodes: nats_nodes,
                        authorization: shared.nats_passwords.authorization(&Namespace::none()),
                    };
                    supervise(members, &shared, &nats, &sinks, started_tx, &received);
                })
                .context("starting the supervisor thread")?
        };
        let members = started_rx
            .await
            .context("the supervisor thread ended while starting")??;
        let fleet = Fleet {
            members,
            commands,
            supervisor: Some(supervisor),
            stripe,
            mongo,
            database_prefix,
            nats_url,
            nats_passwords,
            log,
            dir: options.dir.clone(),
            keep: std::sync::atomic::AtomicBool::new(false),
        };
        for index in 0..fleet.members.len() {
            fleet.wait_ready(index).await?;
        }
        Ok(fleet)
    }

    /// Every replica, in start order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The replicas of `service`.
    pub fn replicas(&self, service: &str) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |member| member.service == service)
    }

    /// The base URLs of `service`'s replicas.
    pub fn urls(&self, service: &str) -> Vec<String> {
        self.replicas(service).map(Member::url).collect()
    }

    /// The index (in [`Fleet::members`]) of replica `replica` of `service`.
    pub fn index_of(&self, service: &str, replica: usize) -> anyhow::Result<usize> {
        self.members
            .iter()
            .position(|member| member.service == service && member.replica == replica)
            .with_context(|| format!("no replica {replica} of {service}"))
    }

    /// The Stripe fake's books.
    pub fn stripe(&self) -> &Ledger {
        &self.stripe.ledger
    }

    /// Waits until `service`'s database has the document `id` (24 hex digits) in
    /// `collection`: an event reached it.
    pub async fn wait_for_document(
        &self,
        service: &str,
        collection: &str,
        id: &str,
    ) -> anyhow::Result<()> {
        let documents = self
            .database(service)
            .await?
            .collection::<mongodb::bson::Document>(collection);
        let id = ObjectId::parse_str(id).with_context(|| format!("{id} is no id"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while documents
            .find_one(mongodb::bson::doc! { "_id": id })
            .await?
            .is_none()
        {
            if Instant::now() > deadline {
                bail!("{collection} {id} never reached {service}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// The Stripe fake's base URL, where a test does what a browser would do at Stripe.
    pub fn stripe_url(&self) -> &str {
        &self.stripe.base_url
    }

    /// A client of `service`'s database, as the server's administrator.
    pub async fn database(&self, service: &str) -> anyhow::Result<mongodb::Database> {
        let client = common::provision::client(&self.mongo.uri, Some(&self.mongo.admin)).await?;
        Ok(client.database(&format!("{}_{service}", self.database_prefix)))
    }

    /// The fleet's NATS server, or its cluster's nodes, comma-separated.
    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// A connection to the fleet's NATS server as `user` (a service's, or
    /// [`common::bus::access::OPERATOR`], who may do anything), with that user's inbox prefix.
    pub async fn nats_as(&self, user: &str) -> anyhow::Result<async_nats::Client> {
        async_nats::ConnectOptions::with_user_and_password(
            user.to_owned(),
            self.nats_passwords.of(user),
        )
        .custom_inbox_prefix(common::bus::access::inbox_prefix(user))
        .connect(common::bus::servers(&self.nats_url).as_slice())
        .await
        .with_context(|| format!("connecting to NATS as {user}"))
    }

    /// A connection to the fleet's NATS server as the operator, for tests inspecting the bus.
    pub async fn nats_operator(&self) -> anyhow::Result<async_nats::Client> {
        self.nats_as(common::bus::access::OPERATOR).await
    }

    /// Where every process's output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Keeps the logs and NATS' store after the fleet is dropped, for a failure to be looked
    /// into (a panicking test keeps them anyway).
    pub fn keep_logs(&self) {
        self.keep.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// SIGKILLs member `index`.
    pub async fn kill(&self, index: usize) -> anyhow::Result<()> {
        self.ask(|reply| Order::Kill(index, reply)).await
    }

    /// SIGTERMs member `index` and waits until it has exited (SIGKILL after `grace`).
    pub async fn terminate(&self, index: usize, grace: Duration) -> anyhow::Result<()> {
        self.ask(|reply| Order::Terminate(index, grace, reply))
            .await
    }

    /// Starts member `index` again and waits until it is ready.
    pub async fn restart(&self, index: usize) -> anyhow::Result<()> {
        self.ask(|reply| Order::Start(index, reply)).await?;
        self.wait_ready(index).await
    }

    /// Restarts the NATS server (SIGTERM, or SIGKILL if `kill`) on the same port and store;
    /// node 0 of a cluster.
    pub async fn restart_nats(&self, kill: bool) -> anyhow::Result<()> {
        self.stop_nats(0, kill).await?;
        self.start_nats(0).await
    }

    /// How many NATS nodes the fleet runs.
    pub fn nats_nodes(&self) -> usize {
        common::bus::servers(&self.nats_url).len()
    }

    /// Stops NATS node `node` (SIGTERM, or SIGKILL if `kill`).
    pub async fn stop_nats(&self, node: usize, kill: bool) -> anyhow::Result<()> {
        self.ask(|reply| Order::StopNats { node, kill, reply })
            .await
    }

    /// Starts NATS node `node` again on its ports and store.
    pub async fn start_nats(&self, node: usize) -> anyhow::Result<()> {
        self.ask(|reply| Order::StartNats(node, reply)).await
    }

    /// The pid of member `index`, if it runs.
    pub async fn pid(&self, index: usize) -> anyhow::Result<Option<u32>> {
        self.ask(|reply| Order::Pid(index, reply)).await
    }

    async fn ask<T>(&self, order: impl FnOnce(Reply<T>) -> Order) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(order(reply))
            .ok()
            .context("the fleet supervisor has stopped")?;
        answer.await.context("the fleet supervisor has stopped")?
    }

    /// Polls member `index`'s `/readyz` until it answers 200.
    async fn wait_ready(&self, index: usize) -> anyhow::Result<()> {
        let member = &self.members[index];
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/readyz", member.url());
        loop {
            let status = http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map(|response| response.status().as_u16());
            if let Ok(200) = status {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} was not ready after 60 s ({status:?}); see {}",
                    member.label(),
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Closing the channel ends the supervisor, which stops every child.
        let (closed, _) = mpsc::channel();
        self.commands = closed;
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.join();
        }
        // Logs and NATS' store are kept for a failed test to be looked into, else removed.
        if !std::thread::panicking() && !self.keep.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The Stripe fake, served by a thread of its own, so the fleet outlives the runtime that
/// started it (a fleet shared by the tests of a binary, each with its runtime).
struct Stripe {
    base_url: String,
    ledger: Ledger,
    /// Dropping it ends the thread, which stops the fake.
    _stop: oneshot::Sender<()>,
}

impl Stripe {
    /// Starts the fake, delivering its events to `webhook` if given.
    async fn start(webhook: Option<WebhookTarget>) -> anyhow::Result<Stripe> {
        let (started_tx, started) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("stripe-fake".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started_tx.send(Err(anyhow::Error::from(error)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let options = Options {
                        webhook,
                        ..Options::default()
                    };
                    match StripeFake::start_with(options).await {
                        Ok(fake) => {
                            let _ = started_tx
                                .send(Ok((fake.base_url().to_owned(), fake.ledger().clone())));
                            let _ = stopped.await;
                            drop(fake);
                        }
                        Err(error) => {
                            let _ = started_tx.send(Err(error.into()));
                        }
                    }
                });
            })
            .context("starting the Stripe fake's thread")?;
        let (base_url, ledger) = started
            .await
            .context("the Stripe fake's thread ended")?
            .context("starting the Stripe fake")?;
        Ok(Stripe {
            base_url,
            ledger,
            _stop: stop,
        })
    }
}

/// What every service process gets.
struct SharedEnv {
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
    /// Each service's `MONGO_URI`, signing in as its own user.
    mongo_uris: BTreeMap<&'static str, String>,
    nats_passwords: BusPasswords,
}

impl SharedEnv {
    fn command(&self, member: &Member) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg(member.service)
            .envs(self.env.iter().map(|(name, value)| (*name, value)))
            .env("HOST", "127.0.0.1")
            .env("PORT", member.port.to_string())
            // Any free port: the fleet's tests read what they check from the APIs and stores.
            .env("METRICS_PORT", "0")
            .env("NATS_CLIENT_ID", member.label());
        if let Some(uri) = self.mongo_uris.get(member.service) {
            command.env("MONGO_URI", uri);
        }
        if common::bus::access::SERVICES
            .iter()
            .any(|user| user.name == member.service)
        {
            command
                .env("NATS_USER", member.service)
                .env("NATS_PASSWORD", self.nats_passwords.of(member.service));
        }
        command
    }
}

/// Where the fleet's NATS listens: one server on its port, or the nodes of a cluster.
enum NatsNodes {
    Single(u16),
    Cluster(devservers::nats::Cluster),
}

impl NatsNodes {
    /// What the services are given as `NATS_URL`.
    fn url(&self) -> String {
        match self {
            NatsNodes::Single(port) => format!("nats://127.0.0.1:{port}"),
            NatsNodes::Cluster(cluster) => cluster.url(),
        }
    }
}

struct NatsServer {
    program: PathBuf,
    store: PathBuf,
    nodes: NatsNodes,
    /// The users it accepts.
    authorization: String,
}

impl NatsServer {
    /// How many nodes to run.
    fn nodes(&self) -> usize {
        match &self.nodes {
            NatsNodes::Single(_) => 1,
            NatsNodes::Cluster(cluster) => cluster.len(),
        }
    }

    /// Starts node `node`: the single server, or a node of the cluster with a store of its own.
    fn start(&self, node: usize, sinks: &Sinks) -> anyhow::Result<ServerProcess> {
        // Right after a stop the port can still be held for a moment: retry briefly.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let started = match &self.nodes {
                NatsNodes::Cluster(cluster) => cluster.start_node(
                    &self.program,
                    &self.store.join(format!("node-{node}")),
                    node,
                    &self.authorization,
                    sinks.sink(&format!("nats-{node}")),
                ),
                NatsNodes::Single(port) => devservers::nats::start_secured(
                    &self.program,
                    &self.store,
                    *port,
                    &self.authorization,
                    sinks.sink("nats"),
                ),
            };
            match started {
                Ok(process) => return Ok(process),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(error) => return Err(anyhow::anyhow!("restarting NATS: {error}")),
            }
        }
    }
}

/// The supervisor thread: starts everything, reports the members as started (a port another
/// process took in the meantime is replaced), then obeys orders until the fleet is dropped.
fn supervise(
    mut members: Vec<Member>,
    shared: &SharedEnv,
    nats: &NatsServer,
    sinks: &Sinks,
    started: oneshot::Sender<anyhow::Result<Vec<Member>>>,
    orders: &mpsc::Receiver<Order>,
) {
    let start_member = |member: &Member| {
        ServerProcess::start(
            &member.label(),
            shared.command(member),
            Readiness::service_on(member.port),
            sinks.sink(&member.label()),
            Duration::from_secs(30),
        )
    };
    let mut nats_processes: Vec<Option<ServerProcess>> = Vec::new();
    for node in 0..nats.nodes() {
        match nats.start(node, sinks) {
            Ok(process) => nats_processes.push(Some(process)),
            Err(error) => {
                let _ = started.send(Err(error));
                return;
            }
        }
    }
    let mut processes: Vec<Option<ServerProcess>> = Vec::new();
    for member in &mut members {
        let started_at = ServerProcess::start_on_port(member.port, 3, |port| {
            start_member(&Member {
                port,
                ..member.clone()
            })
        });
        match started_at {
            Ok(process) => {
                member.port = process.port();
                processes.push(Some(process));
            }
            Err(error) => {
                let _ = started.send(Err(anyhow::anyhow!("starting {}: {error}", member.label())));
                return;
            }
        }
    }
    let _ = started.send(Ok(members.clone()));

    while let Ok(order) = orders.recv() {
        match order {
            Order::Kill(index, reply) => {
                if let Some(mut process) = processes[index].take() {
                    process.kill();
                }
                let _ = reply.send(Ok(()));
            }
            Order::Terminate(index, grace, reply) => {
                if let Some(mut process) = processes[index].take() {
                    process.stop(grace);
                }
                let _ = reply.send(Ok(()));
            }
            Order::Start(index, reply) => {
                let slot = &mut processes[index];
                let running = slot.as_mut().is_some_and(ServerProcess::is_running);
                let result = if running {
                    Ok(())
                } else {
                    start_member(&members[index])
                        .map(|process| *slot = Some(process))
                        .map_err(|error| {
                            anyhow::anyhow!("starting {}: {error}", members[index].label())
                        })
                };
                let _ = reply.send(result);
            }
            Order::StopNats { node, kill, reply } => {
                let result = match nats_processes.get_mut(node) {
                    Some(slot) => {
                        if let Some(mut process) = slot.take() {
                            if kill {
                                process.kill();
                            } else {
                                process.stop(Duration::from_secs(10));
                            }
                        }
                        Ok(())
                    }
                    None => Err(anyhow::anyhow!("there is no NATS node {node}")),
                };
                let _ = reply.send(result);
            }
            Order::StartNats(node, reply) => {
                let result = match nats_processes.get_mut(node) {
                    Some(slot) => {
                        if slot.as_mut().is_some_and(ServerProcess::is_running) {
                            Ok(())
                        } else {
                            nats.start(node, sinks).map(|process| *slot = Some(process))
                        }
                    }
                    None => Err(anyhow::anyhow!("there is no NATS node {node}")),
                };
                let _ = reply.send(result);
            }
            Order::Pid(index, reply) => {
                let pid = processes[index]
                    .as_mut()
                    .and_then(|process| process.is_running().then(|| process.pid()));
                let _ = reply.send(Ok(pid));
            }
        }
    }
    // The fleet was dropped: services first (they flush their outboxes), then NATS.
    for process in processes.iter_mut().flatten() {
        process.stop(Duration::from_secs(10));
    }
    drop(nats_processes);
}

/// Every process's output, prefixed with its name, in one file.
#[derive(Clone)]
struct Sinks(Arc<Mutex<File>>);

impl Sinks {
    fn new(path: &Path) -> anyhow::Result<Sinks> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Sinks(Arc::new(Mutex::new(file))))
    }

    fn sink(&self, name: &str) -> LineSink {
        let (file, name) = (self.0.clone(), name.to_owned());
        Arc::new(move |line: &str| {
            if let Ok(mut file) = file.lock() {
                let _ = writeln!(file, "[{name}] {line}");
            }
        })
    }
}
