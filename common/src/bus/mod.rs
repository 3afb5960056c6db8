//! The event bus: NATS JetStream.
//!
//! One file-backed stream holds the six subjects (docs/decisions.md #16). Publishing waits for the
//! stream's acknowledgement and carries a message id, so the server drops a re-sent duplicate
//! (the outbox relies on this). Each service listens through durable pull consumers, one per
//! service and subject, shared by all its replicas, so each event is handled once per service
//! (see [`listener`]).
//!
//! A [`Namespace`] prefixes the stream and subjects. Production uses none, so the subjects are
//! exactly `ticket:created` and friends; tests give each test its own, so tests sharing one
//! NATS server never see each other's events.

pub mod access;
pub mod listener;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;

use crate::backoff::Backoff;
use crate::config::{self, ConfigError, Secret};
use crate::events::{Event, Subject};
use crate::telemetry::propagation;

/// How long the server remembers message ids to drop duplicates: longer than any outage the
/// outbox relay is expected to retry through.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long events are kept, so a new durable consumer can replay history.
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a service waits at start for JetStream to answer before it gives up (and its pod
/// is restarted): see [`Bus::patiently`].
const STREAMS_PATIENCE: Duration = Duration::from_secs(60);

/// Whether creating a stream failed for want of an answer, so trying again can succeed: a
/// timeout, no JetStream (yet) behind the API subject, the connection lost in between, or
/// JetStream's own "temporarily unavailable" (503).
fn is_transient(error: &jetstream::context::CreateStreamError) -> bool {
    use jetstream::context::CreateStreamErrorKind as Kind;
    match error.kind() {
        Kind::TimedOut | Kind::JetStreamUnavailable | Kind::Response => true,
        Kind::JetStream(error) => error.code() == 503,
        _ => false,
    }
}

/// The servers of a `NATS_URL`: one URL, or several separated by commas.
pub fn servers(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .collect()
}

/// Connects with `options` to one of the servers of `url`, waiting for a server that is not up
/// yet (it may start after us), but failing at once when the server refuses who we are: waiting
/// would never end.
async fn connect_patiently(
    options: async_nats::ConnectOptions,
    url: &str,
) -> anyhow::Result<async_nats::Client> {
    use async_nats::ConnectErrorKind as Kind;
    let servers = servers(url);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    loop {
        match options.clone().connect(servers.as_slice()).await {
            Ok(client) => return Ok(client),
            Err(error)
                if matches!(
                    error.kind(),
                    Kind::AuthorizationViolation | Kind::Authentication
                ) =>
            {
                anyhow::bail!(
                    "NATS at {url} refused this service's credentials (NATS_USER, NATS_PASSWORD): {error}"
                );
            }
            Err(error) if matches!(error.kind(), Kind::ServerParse | Kind::Tls) => {
                return Err(error).with_context(|| format!("connecting to NATS at {url}"));
            }
            Err(error) => {
                tracing::warn!(%url, %error, "NATS not reachable yet, trying again");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// An optional prefix isolating a set of services on a shared NATS server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace(Option<String>);

impl Namespace {
    /// No prefix: the production subjects.
    pub fn none() -> Self {
        Namespace(None)
    }

    /// Subjects `<prefix>.ticket:created`, stream `TICKETING_<prefix>`.
    pub fn prefixed(prefix: impl Into<String>) -> Self {
        Namespace(Some(prefix.into()))
    }

    /// The wire subject of `subject`.
    pub fn subject(&self, subject: Subject) -> String {
        match &self.0 {
            Some(prefix) => format!("{prefix}.{}", subject.as_str()),
            None => subject.as_str().to_owned(),
        }
    }

    /// The stream holding the events.
    pub fn stream(&self) -> String {
        match &self.0 {
            Some(prefix) => format!("TICKETING_{prefix}"),
            None => "TICKETING".to_owned(),
        }
    }

    /// The stream holding parked messages (those that failed every delivery).
    pub fn parked_stream(&self) -> String {
        format!("{}_PARKED", self.stream())
    }

    /// The subject a message that `queue_group` could not handle is parked under.
    pub fn parked_subject(&self, queue_group: &str) -> String {
        match &self.0 {
            Some(prefix) => format!("{prefix}.parked.{queue_group}"),
            None => format!("parked.{queue_group}"),
        }
    }

    /// The key-value bucket of revoked sessions (see [`crate::revocation`]).
    pub fn revocations_bucket(&self) -> String {
        match &self.0 {
            Some(prefix) => format!("revocations_{prefix}"),
            None => "revocations".to_owned(),
        }
    }

    fn parked_wildcard(&self) -> String {
        match &self.0 {
            Some(prefix) => format!("{prefix}.parked.>"),
            None => "parked.>".to_owned(),
        }
    }
}

/// Where and as whom a service connects to NATS.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// `NATS_URL`, e.g. `nats://nats-srv:4222`: one server, or several separated by commas
    /// (the nodes of a cluster), any of which the connection may use.
    pub url: String,
    /// `NATS_CLIENT_ID`: this replica's name (the pod name in Kubernetes).
    pub client_id: String,
    /// Production: none. Tests: one per test.
    pub namespace: Namespace,
    /// `NATS_USER` and `NATS_PASSWORD`: the service's user (see [`access`]). None connects
    /// anonymously, which only a server without authorization (a test's) accepts.
    pub credentials: Option<Credentials>,
    /// `EVENTS_MAX_BYTES`, `EVENTS_MAX_MESSAGE_BYTES`, `EVENTS_REPLICAS`: the streams' bounds
    /// and copies.
    pub limits: StreamLimits,
}

/// How large the streams may grow. A stream at its limit refuses new messages rather than
/// dropping ones not consumed yet: the outbox keeps what it could not publish and retries, so
/// nothing is lost, and the backlog shows in the relay's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// `EVENTS_MAX_BYTES` (default 512 MiB): the events stream's size; the parked stream gets
    /// an eighth of it. The server reserves both at creation, so they must fit its store: by
    /// default three quarters of the free space of the cluster's 1 Gi NATS volume.
    pub max_bytes: i64,
    /// `EVENTS_MAX_MESSAGE_BYTES` (default 64 KiB, a request body's limit): one event's size.
    pub max_message_bytes: i32,
    /// `EVENTS_REPLICAS` (default 1, at most [`MAX_REPLICAS`]): how many servers of a JetStream
    /// cluster keep each stream. 1 for a single server (dev, tests); 3 in production's
    /// three-node cluster, where a stream then survives the loss of one node. A stream keeps
    /// the count it was created with, so every service must say the same.
    pub replicas: usize,
}

/// The most copies JetStream keeps of a stream.
pub const MAX_REPLICAS: usize = 5;

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_bytes: 512 * 1024 * 1024,
            max_message_bytes: 64 * 1024,
            replicas: 1,
        }
    }
}

impl StreamLimits {
    /// Small streams, for tests: a shared test server holds a pair per test, and reserves each
    /// pair's bytes whether or not they are used.
    pub fn for_tests() -> Self {
        StreamLimits {
            max_bytes: 1024 * 1024,
            max_message_bytes: 64 * 1024,
            replicas: 1,
        }
    }
}

impl StreamLimits {
    /// Reads `EVENTS_MAX_BYTES`, `EVENTS_MAX_MESSAGE_BYTES` and `EVENTS_REPLICAS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = StreamLimits::default();
        let replicas = config::positive("EVENTS_REPLICAS", defaults.replicas)?;
        if replicas > MAX_REPLICAS {
            return Err(ConfigError::Invalid {
                name: "EVENTS_REPLICAS",
                reason: format!("JetStream keeps at most {MAX_REPLICAS} copies of a stream"),
            });
        }
        Ok(StreamLimits {
            max_bytes: config::parsed_or("EVENTS_MAX_BYTES", defaults.max_bytes)?,
            max_message_bytes: config::parsed_or(
                "EVENTS_MAX_MESSAGE_BYTES",
                defaults.max_message_bytes,
            )?,
            replicas,
        })
    }
}

/// A NATS user name and its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user, e.g. `orders`: also the prefix of its reply subjects.
    pub user: String,
    /// Its password.
    pub password: Secret,
}

impl BusSettings {
    /// Reads `NATS_CLIENT_ID` and `NATS_URL` (both required, in the original's order), then
    /// `NATS_USER` and `NATS_PASSWORD` (the password is required with a user).
    /// `NATS_CLUSTER_ID` is accepted and ignored: JetStream has no cluster id.
    pub fn from_env() -> Result<Self, ConfigError> {
        let client_id = config::required("NATS_CLIENT_ID")?;
        let url = config::required("NATS_URL")?;
        let credentials = match config::required("NATS_USER") {
            Ok(user) => Some(Credentials {
                user: user.trim().to_owned(),
                password: Secret::new(config::required("NATS_PASSWORD")?),
            }),
            Err(_) => None,
        };
        Ok(BusSettings {
            url,
            client_id,
            namespace: Namespace::none(),
            credentials,
            limits: StreamLimits::from_env()?,
        })
    }
}

/// A connection to JetStream. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    namespace: Namespace,
    limits: StreamLimits,
    /// The last request the server refused for want of permission (see [`Bus::patiently`]).
    refusal: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Bus {
    /// Connects anonymously as `client_name` and makes sure the streams exist, with
    /// [`StreamLimits::for_tests`]: for a server without authorization (tests). Services connect with [`Bus::connect_with`].
    pub async fn connect(
        url: &str,
        client_name: &str,
        namespace: Namespace,
    ) -> anyhow::Result<Bus> {
        Bus::connect_with(&BusSettings {
            url: url.to_owned(),
            client_id: client_name.to_owned(),
            namespace,
            credentials: None,
            limits: StreamLimits::for_tests(),
        })
        .await
    }

    /// Connects as `settings` say and makes sure the streams exist.
    ///
    /// A server not up yet, or whose JetStream does not answer yet, is waited for (up to a
    /// minute for the streams); after that the client reconnects by itself whenever the server
    /// goes away. A server that refuses the credentials fails the start at once, saying so.
    pub async fn connect_with(settings: &BusSettings) -> anyhow::Result<Bus> {
        let url = &settings.url;
        // A request the user may not make is never answered: the server only says so, to the
        // connection. Kept, so that waiting for an answer can stop (see `Bus::patiently`).
        let refusal = Arc::new(Mutex::new(None));
        let noted = refusal.clone();
        let mut options = async_nats::ConnectOptions::new()
            .name(&settings.client_id)
            .event_callback(move |event| {
                let noted = noted.clone();
                async move {
                    if let async_nats::Event::ServerError(async_nats::ServerError::Other(text)) =
                        event
                        && text.to_lowercase().contains("permissions violation")
                        && let Ok(mut noted) = noted.lock()
                    {
                        *noted = Some(text);
                    }
                }
            });
        if let Some(credentials) = &settings.credentials {
            options = options
                .user_and_password(
                    credentials.user.clone(),
                    credentials.password.expose().to_owned(),
                )
                .custom_inbox_prefix(access::inbox_prefix(&credentials.user));
        }
        let client = connect_patiently(options, url).await?;
        let bus = Bus {
            jetstream: jetstream::new(client.clone()),
            client,
            namespace: settings.namespace.clone(),
            limits: settings.limits,
            refusal,
        };
        bus.ensure_streams().await?;
        Ok(bus)
    }

    /// The namespace this bus publishes and listens in.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The JetStream context, for consumers.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// How many servers keep each stream (`EVENTS_REPLICAS`): what other streams of the
    /// service's, such as a key-value bucket, should be created with too.
    pub fn stream_replicas(&self) -> usize {
        self.limits.replicas
    }

    /// Whether the connection is up (for `/readyz`).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    async fn ensure_streams(&self) -> anyhow::Result<()> {
        let events = stream::Config {
            name: self.namespace.stream(),
            subjects: Subject::ALL
                .iter()
                .map(|subject| self.namespace.subject(*subject))
                .collect(),
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age: RETENTION,
            duplicate_window: DUPLICATE_WINDOW,
            max_bytes: self.limits.max_bytes,
            max_message_size: self.limits.max_message_bytes,
            discard: stream::DiscardPolicy::New,
            num_replicas: self.limits.replicas,
            ..Default::default()
        };
        let parked = stream::Config {
            name: self.namespace.parked_stream(),
            subjects: vec![self.namespace.parked_wildcard()],
            storage: stream::StorageType::File,
            max_age: RETENTION,
            max_bytes: (self.limits.max_bytes / 8).max(1),
            max_message_size: self.limits.max_message_bytes,
            discard: stream::DiscardPolicy::New,
            num_replicas: self.limits.replicas,
            ..Default::default()
        };
        for config in [events, parked] {
            self.ensure_stream(config).await?;
        }
        Ok(())
    }

    /// Creates the stream `config` describes unless it exists (an existing one is kept as it
    /// is), waiting for JetStream as [`Bus::patiently`] does. The server reserves the stream's
    /// bound out of its store, so a refusal names the setting behind it.
    async fn ensure_stream(&self, config: stream::Config) -> anyhow::Result<()> {
        let what = format!(
            "creating stream {} of at most {} bytes (set by EVENTS_MAX_BYTES)",
            config.name, config.max_bytes
        );
        self.patiently(&what, is_transient, || {
            self.jetstream.get_or_create_stream(config.clone())
        })
        .await
        .map(drop)
    }

    /// Creates the stream `config` describes, or finds it already there with this very
    /// configuration (one configured otherwise is refused), waiting for JetStream as
    /// [`Bus::patiently`] does.
    pub async fn create_stream(&self, config: stream::Config) -> anyhow::Result<()> {
        let what = format!("creating stream {}", config.name);
        self.patiently(&what, is_transient, || {
            self.jetstream.create_stream(config.clone())
        })
        .await
        .map(drop)
    }

    /// Runs `attempt`, a JetStream request made at start, until it is answered. While
    /// JetStream does not answer (`transient`: a server still starting or recovering its store,
    /// a cluster still electing a leader, or too busy to answer in time) it tries again, for up
    /// to [`STREAMS_PATIENCE`]. An answer that is a refusal fails at once, saying `what`
    /// failed; so does a request the server refused for want of permission, which is never
    /// answered and would otherwise look like JetStream not answering.
    pub async fn patiently<T, E, F, Fut>(
        &self,
        what: &str,
        transient: impl Fn(&E) -> bool,
        mut attempt: F,
    ) -> anyhow::Result<T>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let deadline = tokio::time::Instant::now() + STREAMS_PATIENCE;
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let refusal = || self.refusal.lock().ok().and_then(|mut noted| noted.take());
        loop {
            // Only a refusal of this attempt counts, not one noted before it.
            let _ = refusal();
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if let Some(refusal) = refusal() {
                anyhow::bail!("{what}: {error}: NATS refused it ({refusal})");
            }
            let delay = backoff.next_delay();
            if !transient(&error) || tokio::time::Instant::now() + delay > deadline {
                anyhow::bail!("{what}: {error}");
            }
            tracing::warn!(%error, "{what}: JetStream not answering, trying again");
            tokio::time::sleep(delay).await;
        }
    }

    /// Publishes raw `payload` under `subject` with `message_id` (and `traceparent`, the trace
    /// it belongs to), and waits for the stream's acknowledgement. Returns whether the server
    /// already had that id (a duplicate).
    pub async fn publish_raw(
        &self,
        subject: &str,
        payload: Bytes,
        message_id: &str,
        traceparent: Option<&str>,
    ) -> anyhow::Result<bool> {
        self.send_raw(subject, payload, message_id, traceparent)
            .await?
            .await
    }

    /// Sends raw `payload` under `subject` with `message_id` (and `traceparent`) without
    /// waiting: the returned future resolves to the stream's acknowledgement (whether the id
    /// was a duplicate). Messages sent one after another are stored in that order, so a batch
    /// can be sent first and its acknowledgements awaited after, one round trip for all.
    pub async fn send_raw(
        &self,
        subject: &str,
        payload: Bytes,
        message_id: &str,
        traceparent: Option<&str>,
    ) -> anyhow::Result<impl Future<Output = anyhow::Result<bool>> + Send + use<>> {
        let mut message = PublishMessage::build()
            .payload(payload)
            .message_id(message_id);
        if let Some(traceparent) = traceparent {
            message = message.header(propagation::TRACEPARENT, traceparent);
        }
        let ack = self
            .jetstream
            .send_publish(subject.to_owned(), message)
            .await
            .with_context(|| format!("publishing {subject}"))?;
        let subject = subject.to_owned();
        Ok(async move {
            let ack = ack
                .await
                .with_context(|| format!("waiting for the stream to store {subject}"))?;
            Ok(ack.duplicate)
        })
    }

    /// Publishes `event` under its subject with `message_id`, in the current span's trace,
    /// waiting for the acknowledgement. A change and its event go through the outbox instead;
    /// this is for an event that changes nothing of its publisher's (an expiration) and tests.
    pub async fn publish<E: Event>(&self, event: &E, message_id: &str) -> anyhow::Result<bool> {
        let payload = serde_json::to_vec(event).context("serializing an event")?;
        let traceparent = propagation::traceparent(&tracing::Span::current());
        self.publish_raw(
            &self.namespace.subject(E::SUBJECT),
            payload.into(),
            message_id,
            traceparent.as_deref(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_subjects_are_exact_and_test_ones_are_prefixed() {
        let production = Namespace::none();
        assert_eq!(production.subject(Subject::OrderCreated), "order:created");
        assert_eq!(production.stream(), "TICKETING");
        assert_eq!(
            production.parked_subject("orders-service"),
            "parked.orders-service"
        );
        let test = Namespace::prefixed("t1");
        assert_eq!(test.subject(Subject::OrderCreated), "t1.order:created");
        assert_eq!(test.stream(), "TICKETING_t1");
        assert_eq!(test.parked_stream(), "TICKETING_t1_PARKED");
    }

    #[test]
    fn a_nats_url_names_one_server_or_several() {
        assert_eq!(servers("nats://nats-srv:4222"), ["nats://nats-srv:4222"]);
        assert_eq!(
            servers("nats://127.0.0.1:4001, nats://127.0.0.1:4002,"),
            ["nats://127.0.0.1:4001", "nats://127.0.0.1:4002"]
        );
    }
}
