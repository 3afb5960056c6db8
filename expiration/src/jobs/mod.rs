//! The expiration job: one per order, stored in Redis, due when the order expires.
//!
//! Jobs are apalis tasks in an apalis-redis queue (docs/decisions.md #17), so they outlive the
//! process that scheduled them: any replica's [`worker`] fires them, after a restart too.
//!
//! apalis-redis keeps due times in whole seconds and promotes a job once the clock reaches its
//! second. A job is therefore due at the second in which its order expires (rounded down), and
//! the handler waits out the remaining fraction before publishing: the event is never early,
//! and it is late at most by the worker's polling interval ([`POLL_INTERVAL`]). Rounding up
//! instead would add up to another second.

pub mod worker;

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use chrono::{DateTime, Utc};
use common::config::Secret;
use common::events::iso_millis;
use serde::{Deserialize, Serialize};

/// The queue of the original (a Bull queue there); every Redis key of the jobs starts with it.
pub const DEFAULT_QUEUE: &str = "order:expiration";

/// How often an idle worker looks for due jobs, and how often it tells Redis it is alive.
/// apalis-redis only polls on this heartbeat, so it bounds how late a job fires: half a second
/// keeps every expiry well within a second of `expiresAt`, for a few cheap Redis scripts per
/// poll. A worker silent for ten heartbeats (5 s) counts as dead, and its running jobs go to
/// another worker.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Heartbeats a worker may miss before it counts as dead.
pub const MISSED_HEARTBEATS: usize = 10;

/// The longest pause between two attempts to reconnect to Redis.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// How long the key that stops a second job for the same order is kept. A duplicate
/// `order:created` arrives within minutes (redelivery), never days later.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Expire order `orderId` at `expiresAt`: the job's payload, as stored in Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireOrder {
    pub order_id: String,
    #[serde(with = "iso_millis")]
    pub expires_at: DateTime<Utc>,
}

impl ExpireOrder {
    /// The Unix second the job becomes due: the one `expiresAt` falls in (rounded down; the
    /// handler waits for the rest).
    pub fn due_second(&self) -> u64 {
        u64::try_from(self.expires_at.timestamp()).unwrap_or(0)
    }

    /// The `Nats-Msg-Id` of its `expiration:complete`: the same for every attempt, so the
    /// stream stores the event once however often the job runs.
    pub fn message_id(&self) -> String {
        format!("expiration:{}", self.order_id)
    }

    /// The key under which the job is stored at most once.
    fn idempotency_key(&self) -> String {
        format!("order:{}", self.order_id)
    }
}

/// Opens a connection to Redis. It connects on first use and reconnects by itself, so the
/// service starts (unready) while Redis is still coming up.
pub fn connect(url: &Secret) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url.expose()).context("REDIS_URL is not a Redis URL")?;
    // Reconnection attempts at most a second apart: jobs fire soon after Redis is back.
    let config = redis::aio::ConnectionManagerConfig::new().set_max_delay(RECONNECT_MAX_DELAY);
    client
        .get_connection_manager_lazy(config)
        .context("setting up the Redis connection")
}

/// How long the start waits to learn whether Redis takes the password.
const PASSWORD_CHECK: Duration = Duration::from_secs(3);

/// Fails when Redis answers that the password is missing or wrong: the service could never
/// schedule a job, and waiting would never end. A Redis that does not answer within
/// [`PASSWORD_CHECK`] is left for `/readyz` to report.
pub async fn refuse_rejected_password(url: &Secret) -> anyhow::Result<()> {
    let client = redis::Client::open(url.expose()).context("REDIS_URL is not a Redis URL")?;
    // A connection of its own: the shared manager retries a refused handshake for ever.
    let check = tokio::spawn(async move {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    });
    match tokio::time::timeout(PASSWORD_CHECK, check).await {
        Ok(Ok(Err(error)))
            if error.kind() == redis::ErrorKind::AuthenticationFailed
                || matches!(error.code(), Some("NOAUTH" | "WRONGPASS")) =>
        {
            anyhow::bail!(
                "Redis refused the password (REDIS_PASSWORD, or the one in REDIS_URL): {error}"
            )
        }
        _ => Ok(()),
    }
}

/// Whether Redis answers `PING` (for `/readyz`).
pub async fn ping(mut connection: ConnectionManager) -> anyhow::Result<()> {
    redis::cmd("PING")
        .query_async::<String>(&mut connection)
        .await
        .context("Redis does not answer PING")?;
    Ok(())
}

/// The job queue in Redis. Cheap to clone; every clone shares the connection.
#[derive(Clone)]
pub struct ExpirationQueue {
    storage: RedisStorage<ExpireOrder>,
}

impl std::fmt::Debug for ExpirationQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpirationQueue")
            .field("queue", &self.storage.get_config().queue.as_ref())
            .finish()
    }
}

impl ExpirationQueue {
    /// The queue named `queue` on `connection`.
    pub fn new(connection: ConnectionManager, queue: &str) -> Self {
        let config = apalis_redis::Config::default()
            .queue(queue)
            .heartbeat_interval(POLL_INTERVAL)
            .missed_heartbeats(MISSED_HEARTBEATS)
            .idempotency_ttl(Some(IDEMPOTENCY_TTL))
            // Nobody subscribes to apalis' pub/sub notifications.
            .emit_events(false);
        ExpirationQueue {
            storage: RedisStorage::new(connection).with_config(config),
        }
    }

    /// A handle on the storage, for a worker.
    fn storage(&self) -> RedisStorage<ExpireOrder> {
        self.storage.clone()
    }

    /// Stores `job`, due at [`ExpireOrder::due_second`] (at once if that is past). Storing the
    /// job of an order that already has one does nothing, so a redelivered `order:created` is
    /// harmless. Returns once Redis has the job.
    pub async fn schedule(&self, job: ExpireOrder) -> anyhow::Result<()> {
        let order_id = job.order_id.clone();
        let task = TaskBuilder::new(job.clone())
            .run_at_timestamp(job.due_second())
            .idempotency_key(job.idempotency_key())
            .build();
        self.storage()
            .push_task(task)
            .await
            .with_context(|| format!("storing the expiration job of order {order_id}"))?;
        tracing::debug!(%order_id, expires_at = %job.expires_at, "expiration scheduled");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn job(expires_at: DateTime<Utc>) -> ExpireOrder {
        ExpireOrder {
            order_id: "64b7f0c2a1b2c3d4e5f60718".to_owned(),
            expires_at,
        }
    }

    #[test]
    fn due_in_the_second_the_order_expires() {
        let at = |millis| Utc.timestamp_millis_opt(millis).single().unwrap();
        assert_eq!(job(at(1_700_000_000_000)).due_second(), 1_700_000_000);
        assert_eq!(job(at(1_700_000_000_999)).due_second(), 1_700_000_000);
        assert_eq!(job(at(-5_000)).due_second(), 0);
    }

    #[test]
    fn one_message_id_and_one_job_per_order() {
        let job = job(Utc::now());
        assert_eq!(job.message_id(), "expiration:64b7f0c2a1b2c3d4e5f60718");
        assert_eq!(job.idempotency_key(), "order:64b7f0c2a1b2c3d4e5f60718");
    }

    #[test]
    fn the_payload_is_camel_case_with_iso_millis() {
        let expires_at = Utc
            .timestamp_millis_opt(1_700_000_000_123)
            .single()
            .unwrap();
        let json = serde_json::to_value(job(expires_at)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "orderId": "64b7f0c2a1b2c3d4e5f60718",
                "expiresAt": "2023-11-14T22:13:20.123Z",
            })
        );
        assert_eq!(
            serde_json::from_value::<ExpireOrder>(json).unwrap(),
            job(expires_at)
        );
    }
}
