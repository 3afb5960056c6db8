//! The real-server test harness.
//!
//! Tests talk to a real MongoDB-compatible server, NATS JetStream and Redis. Per test binary,
//! each server is either taken from the environment (`MONGO_URI`, `NATS_URL`, `REDIS_URL`) or
//! started on first use as a child process on a random port: a real `mongod` if one is on
//! `PATH`, else `secantusd-rs`; `nats-server -js`; `redis-server`. One server of each kind is
//! shared by every test of the binary; tests are isolated by giving each its own database
//! ([`mongo_uri`]). The servers are stopped and their files removed when the binary exits, and
//! the kernel kills them if it crashes. (testcontainers is not used: these machines have no
//! Docker daemon, and child processes work everywhere the servers are installed.)
//!
//! A test of a service starts its replicas on a [`Backing`] (a database and a bus namespace of
//! the test's own, and probes of the service's consumers and outbox) and calls each through a
//! [`TestApp`]; the service's own helpers add its models, seeders and requests.
//!
//! `TICKETING_TEST_SERVER_LOGS=1` prints the servers' output to stderr.

mod backing;
pub mod events;
pub mod http;
mod keeper;
pub mod openapi;
pub mod process;
pub mod secured;

pub use backing::Backing;
pub use http::TestApp;

use std::path::PathBuf;
use std::sync::OnceLock;

use devservers::{Durability, LineSink};
use mongodb::bson::oid::ObjectId;

use crate::bus::listener::ListenerOptions;
use crate::config::Secret;
use crate::session::{SessionSettings, Sessions};

/// The signing key every test uses: the original tests' `asdfasdf`, made as long as services
/// require.
pub const JWT_KEY: &str = "asdfasdf-asdfasdf-asdfasdf-asdfasdf";

/// Session settings for tests: [`JWT_KEY`], one hour, no `secure`.
pub fn session_settings() -> SessionSettings {
    SessionSettings {
        jwt_key: Secret::new(JWT_KEY),
        ttl: std::time::Duration::from_secs(3600),
        cookie_secure: false,
        // Small: a shared test server reserves each namespace's bucket in full.
        revocations: crate::revocation::RevocationSettings { max_entries: 1_000 },
        cached: crate::session::DEFAULT_CACHED_SESSIONS,
    }
}

/// Delivery settings for a test's listeners: the defaults, but an event refused is delivered
/// again within a fifth of a second, so a test never waits long for a redelivery.
pub fn listener_options() -> ListenerOptions {
    ListenerOptions {
        first_retry: std::time::Duration::from_millis(20),
        max_retry: std::time::Duration::from_millis(200),
        ..ListenerOptions::default()
    }
}

/// A `Cookie` header value with a valid session for `id` and `email`, as another service's
/// tests forge one (they never call auth).
pub fn session_cookie(id: &str, email: &str) -> String {
    let sessions = Sessions::new(
        &session_settings(),
        crate::revocation::Revocations::unshared(),
    );
    let result = sessions
        .issue(id, email)
        .and_then(|(_, token)| sessions.cookie_for(&token));
    let set_cookie = match result {
        Ok(value) => value,
        Err(error) => panic!("could not forge a session cookie: {error:?}"),
    };
    let set_cookie = set_cookie.to_str().unwrap_or_default();
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// A session cookie for a new random user id with email `test@test.com`; returns the id too.
pub fn signed_in_user() -> (String, String) {
    let id = ObjectId::new().to_hex();
    let cookie = session_cookie(&id, "test@test.com");
    (id, cookie)
}

/// A connection string for a fresh, uniquely named database on the shared server.
pub fn mongo_uri() -> String {
    let database = format!("test_{}", ObjectId::new().to_hex());
    with_database(&shared_mongo(), &database)
}

/// Bus settings in a namespace of their own on the shared NATS server: clone them for every
/// replica that should share the namespace.
pub fn bus_settings() -> crate::bus::BusSettings {
    crate::bus::BusSettings {
        url: nats_url(),
        client_id: format!("test-{}", ObjectId::new().to_hex()),
        namespace: crate::bus::Namespace::prefixed(format!("t{}", ObjectId::new().to_hex())),
        credentials: None,
        limits: crate::bus::StreamLimits::for_tests(),
    }
}

/// The shared NATS server's URL (`nats://127.0.0.1:PORT`).
pub fn nats_url() -> String {
    static NATS: OnceLock<Result<String, String>> = OnceLock::new();
    endpoint(&NATS, "NATS_URL", || {
        let program =
            devservers::find_program("nats-server").ok_or_else(|| missing("nats-server"))?;
        keeper::start_kept("nats", move |dir| {
            devservers::nats::start(&program, dir, 0, sink("nats"))
        })
        .map(|port| format!("nats://127.0.0.1:{port}"))
    })
}

/// The shared Redis server's URL (`redis://127.0.0.1:PORT`).
pub fn redis_url() -> String {
    static REDIS: OnceLock<Result<String, String>> = OnceLock::new();
    endpoint(&REDIS, "REDIS_URL", || {
        let program =
            devservers::find_program("redis-server").ok_or_else(|| missing("redis-server"))?;
        keeper::start_kept("redis", move |dir| {
            devservers::redis::start(&program, dir, 0, Durability::Ephemeral, sink("redis"))
        })
        .map(|port| format!("redis://127.0.0.1:{port}"))
    })
}

/// The shared MongoDB-compatible server's URI, without a database.
fn shared_mongo() -> String {
    static MONGO: OnceLock<Result<String, String>> = OnceLock::new();
    endpoint(&MONGO, "MONGO_URI", || start_mongo("mongo", false))
}

/// Starts a MongoDB-compatible server kept for the binary's life, requiring credentials if
/// `secured` (it then has no user yet); returns its URI without a database.
fn start_mongo(name: &'static str, secured: bool) -> Result<String, String> {
    let server = devservers::find_mongo().ok_or_else(|| {
        missing("a MongoDB-compatible server (mongod, or secantusd-rs from `cargo install secantus-mdb --version 0.5.3-beta.196 --locked --ignore-rust-version`)")
    })?;
    let program = server.clone();
    let port = keeper::start_kept(name, move |dir| {
        let start = if secured {
            devservers::mongo::Mongo::start_secured
        } else {
            devservers::mongo::Mongo::start
        };
        start(&program, dir, 0, sink(name)).map(|mongo| mongo.process)
    })?;
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    if matches!(server, devservers::MongoServer::Mongod(_)) {
        keeper::ensure_replica_set(&uri, port)?;
    }
    Ok(uri)
}

/// The value of `variable` if set, else the server `start` runs, once per binary.
fn endpoint(
    cell: &'static OnceLock<Result<String, String>>,
    variable: &str,
    start: impl FnOnce() -> Result<String, String>,
) -> String {
    endpoint_with(cell, || match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => start(),
    })
}

/// What `start` gave, run once per binary.
fn endpoint_with(
    cell: &'static OnceLock<Result<String, String>>,
    start: impl FnOnce() -> Result<String, String>,
) -> String {
    match cell.get_or_init(start) {
        Ok(value) => value.clone(),
        Err(error) => panic!("test harness: {error}"),
    }
}

fn missing(what: &str) -> String {
    format!(
        "{what} is not installed, and its URL variable is not set. `cargo xtask test` installs \
         what the tests need; or install it yourself (Debian: apt-get install nats-server redis-server)"
    )
}

fn sink(name: &'static str) -> LineSink {
    if std::env::var_os("TICKETING_TEST_SERVER_LOGS").is_some() {
        std::sync::Arc::new(move |line: &str| eprintln!("[{name}] {line}"))
    } else {
        std::sync::Arc::new(|_: &str| {})
    }
}

/// A directory under the system's temporary directory, named `<name>-<unique id>` and removed
/// with everything in it when dropped: the store of a server a test starts and stops itself.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, not yet created, path.
    pub fn new(name: &str) -> TempDir {
        TempDir(std::env::temp_dir().join(format!("{name}-{}", ObjectId::new().to_hex())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stops `server` as Kubernetes does (SIGTERM, then up to 10 s for it to exit), on a blocking
/// thread so the test's runtime goes on meanwhile: a server a test started itself.
pub async fn stop_gracefully(mut server: devservers::ServerProcess) {
    let stopped =
        tokio::task::spawn_blocking(move || server.stop(std::time::Duration::from_secs(10))).await;
    if let Err(error) = stopped {
        panic!("stopping a server failed: {error}");
    }
}

/// `uri` with its database replaced by `database` (query kept).
pub fn with_database(uri: &str, database: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("mongodb", uri));
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let hosts = before_query
        .split_once('/')
        .map_or(before_query, |(hosts, _)| hosts);
    match query {
        Some(query) => format!("{scheme}://{hosts}/{database}?{query}"),
        None => format!("{scheme}://{hosts}/{database}"),
    }
}

/// Samples of Prometheus' text format: each `name{labels}` with its value.
pub type Samples = std::collections::BTreeMap<String, f64>;

/// The samples of Prometheus' text format: each `name{labels} value` line's value, keyed by
/// `name{labels}`.
pub fn samples(text: &str) -> Samples {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (sample, value) = line.rsplit_once(' ')?;
            Some((sample.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The values of the `samples` of `family` whose labels include every one of `labels`
/// (`name="value"`).
pub fn matching(samples: &Samples, family: &str, labels: &[&str]) -> Vec<f64> {
    let prefix = format!("{family}{{");
    samples
        .iter()
        .filter(|(key, _)| key.starts_with(&prefix) || key.as_str() == family)
        .filter(|(key, _)| labels.iter().all(|label| key.contains(label)))
        .map(|(_, value)| *value)
        .collect()
}

/// The sum of this process's samples of `family` whose labels include every one of `labels`,
/// from the metrics recorder every service shares ([`crate::metrics`]); 0 when there is none.
/// Tests of one binary share the recorder, so a test asserts growth.
pub fn metric(family: &str, labels: &[&str]) -> f64 {
    let samples = samples(&crate::metrics::handle().render());
    matching(&samples, family, labels).iter().sum()
}

/// What `family{labels}` (its samples with every one of `labels`, summed) grew by from
/// `before` to `after`.
pub fn added(before: &Samples, after: &Samples, family: &str, labels: &[&str]) -> f64 {
    let value = |samples| matching(samples, family, labels).iter().sum::<f64>();
    value(after) - value(before)
}

/// Asserts that `family{labels}` grew by `expected` from `before` to `after`: exactly, when
/// the test has the process's one recorder to itself (cargo-nextest runs each test in a
/// process of its own); at least, under `cargo test`, where the binary's other tests count in
/// it at the same time.
pub fn assert_added(
    before: &Samples,
    after: &Samples,
    family: &str,
    labels: &[&str],
    expected: f64,
) {
    let grown = added(before, after, family, labels);
    if std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test") {
        assert_eq!(grown, expected, "{family}{labels:?}");
    } else {
        assert!(grown >= expected, "{family}{labels:?} grew by {grown}");
    }
}

/// Gives the calling thread, until the guard drops, a subscriber whose spans carry trace ids
/// and continue traces, as a service's do ([`crate::telemetry`]); a `#[tokio::test]`'s tasks
/// all run on its thread.
pub fn trace_ids() -> tracing::subscriber::DefaultGuard {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .build();
    let spans = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    tracing::subscriber::set_default(tracing_subscriber::registry().with(spans))
}

/// The trace id of a `traceparent` (`00-<trace id>-<span id>-<flags>`).
pub fn trace_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

/// [`metric`] as a scrape sees it: the gauges read at scrape time
/// ([`crate::metrics::collect_at_scrape`]) read first.
pub async fn scraped(family: &str, labels: &[&str]) -> f64 {
    let samples = samples(&crate::metrics::render().await);
    matching(&samples, family, labels).iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_and_keeps_the_options() {
        let cases = [
            (
                "mongodb://127.0.0.1:1/?directConnection=true",
                "mongodb://127.0.0.1:1/t?directConnection=true",
            ),
            (
                "mongodb://h:1/auth?replicaSet=rs0",
                "mongodb://h:1/t?replicaSet=rs0",
            ),
            (
                "mongodb://user:pw@h1:1,h2:2/auth",
                "mongodb://user:pw@h1:1,h2:2/t",
            ),
            ("mongodb://h:1", "mongodb://h:1/t"),
        ];
        for (uri, expected) in cases {
            assert_eq!(with_database(uri, "t"), expected);
        }
    }

    #[test]
    fn forged_cookies_are_valid_sessions() {
        let (id, cookie) = signed_in_user();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, cookie.parse().unwrap());
        let user = Sessions::new(
            &session_settings(),
            crate::revocation::Revocations::unshared(),
        )
        .user_from_headers(&headers)
        .unwrap();
        assert_eq!(
            (user.id.as_str(), user.email.as_str()),
            (id.as_str(), "test@test.com")
        );
    }
}
