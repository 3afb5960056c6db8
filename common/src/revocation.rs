//! Sessions that end before they expire: revoked tokens and banned users.
//!
//! A session JWT is trusted by every service without asking auth, so ending one early needs
//! every service to know. Auth writes each revocation to a JetStream key-value bucket
//! ([`RevocationBucket`]); every service that reads sessions keeps the bucket's contents in
//! memory ([`Revocations`]), loaded before it answers its first request and followed after,
//! and its session extractors treat a revoked token as no session at all.
//!
//! The bucket's keys:
//! - `token.<jti>` → `{"exp": …}`: one token, signed out, refused until it expires;
//! - `user.<id>` → `{"banned": true, "at": …}`: every token of a banned user is refused;
//! - `user.<id>` → `{"banned": false, "at": …}`: the ban is lifted; tokens issued before `at`
//!   (before or during the ban) stay refused.
//!
//! Bounded by time: the bucket's `max_age` is the session lifetime, and a value can affect
//! no token older than that, so the server drops each entry once it can no longer matter, and
//! the set in memory drops it at the same moment. Bounded by size: the bucket holds at most
//! `REVOCATIONS_MAX_ENTRIES` entries' worth of bytes and then refuses new ones (sign-out and
//! ban answer 503) rather than forgetting old ones; the set in memory never holds more.
//!
//! Why a key-value bucket rather than events on the main stream: a replica that starts later
//! needs the current state, not history; the bucket keeps only the last value per key and
//! expires it by itself, and every service reads it from its start with one consumer.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::{kv, stream};
use futures_util::StreamExt as _;
use mongodb::bson::oid::ObjectId;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::claims::Claims;
pub use crate::revocation_set::{RevocationSettings, Revocations};
use crate::revocation_set::{TokenEntry, UserEntry};
use crate::session::{SessionSettings, Sessions};

/// The bytes of the smallest entry as the server counts them (subject, value and its own
/// bookkeeping are more than this): a bucket of `entries × ENTRY_BYTES` bytes holds at most
/// `entries` entries.
const ENTRY_BYTES: u64 = 64;
/// The largest value auth writes is about 40 bytes.
const MAX_VALUE_BYTES: i32 = 256;
/// How long a service waits for the bucket's current contents at start before trying again.
const LOAD_PATIENCE: Duration = Duration::from_secs(10);
/// How often the set in memory drops entries that can no longer matter.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// Seconds since the epoch.
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

/// The bucket of revocations on the bus: auth writes it, every service that reads sessions
/// follows it. Cheap to clone: a handler's state holds it, and axum clones the state for
/// every request.
#[derive(Clone)]
pub struct RevocationBucket {
    store: Arc<kv::Store>,
    /// The session lifetime in seconds: the bucket's `max_age`.
    ttl: u64,
    settings: RevocationSettings,
}

impl std::fmt::Debug for RevocationBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationBucket")
            .field("bucket", &self.store.name)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl RevocationBucket {
    /// Opens the bucket, creating it if it is missing, for sessions living `ttl`. A bucket
    /// that exists with other settings (another `JWT_TTL_SECONDS` or
    /// `REVOCATIONS_MAX_ENTRIES` elsewhere in the fleet) fails the start, saying so.
    pub async fn open(bus: &Bus, sessions: &SessionSettings) -> anyhow::Result<RevocationBucket> {
        let (ttl, settings) = (sessions.ttl, sessions.revocations);
        let bucket = bus.namespace().revocations_bucket();
        // The stream a key-value bucket is, written out: the client's own bucket maker first
        // asks for account details that older servers do not give.
        let config = stream::Config {
            name: format!("KV_{bucket}"),
            description: Some("revoked session tokens and banned users".to_owned()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_bytes: i64::try_from(settings.max_entries.saturating_mul(ENTRY_BYTES))
                .unwrap_or(i64::MAX),
            max_age: ttl,
            max_message_size: MAX_VALUE_BYTES,
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            // Full: refuse the new entry, never forget an old one.
            discard: stream::DiscardPolicy::New,
            duplicate_window: ttl.min(Duration::from_secs(120)),
            // As many copies as the events: a bucket on one server of a cluster would lose
            // every revocation with that server's volume.
            num_replicas: bus.stream_replicas(),
            ..Default::default()
        };
        // A create is answered with the stream when it exists with this very configuration,
        // and refused when its configuration differs.
        bus.create_stream(config).await.map_err(|error| {
            anyhow::anyhow!(
                "opening the key-value bucket {bucket}: {error:#} (every service must have the \
                 same JWT_TTL_SECONDS and REVOCATIONS_MAX_ENTRIES)"
            )
        })?;
        // The bucket exists now: failing to read its details is JetStream not answering yet.
        let what = format!("opening the key-value bucket {bucket}");
        let store = bus
            .patiently(
                &what,
                |_: &async_nats::jetstream::context::KeyValueError| true,
                || bus.jetstream().get_key_value(&bucket),
            )
            .await?;
        Ok(RevocationBucket {
            store: Arc::new(store),
            ttl: ttl.as_secs(),
            settings,
        })
    }

    /// Revokes the token `claims` describe until it expires.
    pub async fn revoke(&self, claims: &Claims) -> anyhow::Result<()> {
        let value = serde_json::to_vec(&TokenEntry { exp: claims.exp })?;
        self.store
            .put(format!("token.{}", claims.jti), value.into())
            .await
            .context("recording a revoked token")?;
        Ok(())
    }

    /// Bans `user` (a user id) from now on: every token issued to them is refused.
    pub async fn ban(&self, user: &str) -> anyhow::Result<()> {
        self.put_user(user, true).await
    }

    /// Lifts `user`'s ban: tokens issued from now on are accepted, older ones still refused.
    pub async fn unban(&self, user: &str) -> anyhow::Result<()> {
        self.put_user(user, false).await
    }

    async fn put_user(&self, user: &str, banned: bool) -> anyhow::Result<()> {
        let value = serde_json::to_vec(&UserEntry {
            banned,
            at: now_seconds(),
        })?;
        self.store
            .put(format!("user.{user}"), value.into())
            .await
            .context("recording a ban")?;
        Ok(())
    }

    /// Loads the bucket's current contents, then keeps following it until `stop`: the set
    /// returned is complete when this returns, and stays current within moments of each write.
    /// A bucket that cannot be read within [`LOAD_PATIENCE`] twice fails the start: a service
    /// must not answer as if nobody were banned.
    pub async fn follow(
        &self,
        background: &mut crate::background::Background,
    ) -> anyhow::Result<Revocations> {
        let revocations = Revocations::with_cap(self.settings.max_entries);
        let mut attempt = 1;
        let messages = loop {
            match tokio::time::timeout(LOAD_PATIENCE, self.load(&revocations)).await {
                Ok(Ok(messages)) => break messages,
                Ok(Err(error)) if attempt >= 2 => return Err(error),
                Err(_) if attempt >= 2 => {
                    anyhow::bail!(
                        "the revocations bucket {} could not be read within {LOAD_PATIENCE:?}",
                        self.store.name
                    )
                }
                Ok(Err(error)) => tracing::warn!(%error, "reading revocations, trying again"),
                Err(_) => tracing::warn!("reading revocations timed out, trying again"),
            }
            attempt += 1;
        };
        let (bucket, set) = (self.clone(), revocations.clone());
        background.spawn(move |stop| bucket.keep_following(messages, set, stop));
        Ok(revocations)
    }

    /// Reads every current entry into `revocations`; returns the consumer to read on from.
    async fn load(&self, revocations: &Revocations) -> anyhow::Result<Messages> {
        let consumer = self
            .store
            .stream
            .create_consumer(OrderedConfig {
                name: Some(format!("revocations-{}", ObjectId::new().to_hex())),
                // The bucket keeps one value per key, so all of it is the current state.
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .context("following the revocations bucket")?;
        let mut pending = consumer.cached_info().num_pending;
        let mut messages = consumer
            .messages()
            .await
            .context("following the revocations bucket")?;
        while pending > 0 {
            let message = messages
                .next()
                .await
                .context("the revocations bucket's consumer ended")?
                .context("reading the revocations bucket")?;
            pending = self.apply(revocations, &message)?;
        }
        Ok(messages)
    }

    /// Applies one message of the bucket; returns how many follow it.
    fn apply(
        &self,
        revocations: &Revocations,
        message: &async_nats::jetstream::Message,
    ) -> anyhow::Result<u64> {
        let info = message
            .info()
            .map_err(|error| anyhow::anyhow!("a revocation without metadata: {error}"))?;
        let key = message
            .subject
            .strip_prefix(self.store.prefix.as_str())
            .unwrap_or_default();
        let removed = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get("KV-Operation"))
            .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"));
        let written = u64::try_from(info.published.unix_timestamp()).unwrap_or_default();
        let value = (!removed).then_some(message.payload.as_ref());
        revocations.apply(key, value, written, self.ttl);
        Ok(info.pending)
    }

    async fn keep_following(
        self,
        mut messages: Messages,
        revocations: Revocations,
        stop: CancellationToken,
    ) {
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = prune.tick() => revocations.prune(now_seconds()),
                message = messages.next() => match message {
                    Some(Ok(message)) => {
                        if let Err(error) = self.apply(&revocations, &message) {
                            tracing::warn!(%error, "skipping a revocation");
                        }
                    }
                    // The ordered consumer recreates itself after a gap; a failure in between
                    // is logged and reading goes on.
                    Some(Err(error)) => tracing::warn!(%error, "following revocations"),
                    None => {
                        tracing::warn!("the revocations consumer ended; following again");
                        match self.load(&revocations).await {
                            Ok(next) => messages = next,
                            Err(error) => {
                                tracing::error!(%error, "following revocations again");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                },
            }
        }
    }
}

type Messages = async_nats::jetstream::consumer::pull::Ordered;

/// The sessions of a service that reads them, refused as the revocations bucket says: the
/// bucket is opened and read whole now, and followed in `background` until it stops. Also
/// returns the bucket, for auth to write to.
pub async fn sessions(
    bus: &Bus,
    settings: &SessionSettings,
    background: &mut crate::background::Background,
) -> anyhow::Result<(Sessions, RevocationBucket)> {
    let bucket = RevocationBucket::open(bus, settings).await?;
    let revocations = bucket.follow(background).await?;
    Ok((Sessions::new(settings, revocations), bucket))
}
