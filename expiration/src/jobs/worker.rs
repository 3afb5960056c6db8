//! The worker that fires due jobs: it publishes `expiration:complete` and succeeds only once
//! JetStream has stored it.
//!
//! Each replica runs one apalis worker, named after its `NATS_CLIENT_ID` plus a start stamp, so
//! two replicas (or a replica and its restarted self) never share a name. Jobs are taken from
//! Redis atomically, so each due job runs on one worker. A job whose worker dies mid-way is
//! handed to another worker once the dead one has missed its heartbeats; running it twice is
//! harmless, because the event's message id makes the stream keep it once.
//!
//! While NATS is unreachable the handler keeps retrying (with a growing pause) instead of
//! failing: apalis-redis gives up on a job after 25 failed attempts, and an outage must delay
//! the event, never lose it. On shutdown a job still retrying fails, and apalis-redis
//! reschedules it, so a later worker publishes it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::prelude::{BoxDynError, Data, WorkerBuilder, WorkerError};
use common::bus::Bus;
use common::events::ExpirationComplete;
use tokio_util::sync::CancellationToken;

use crate::jobs::{ExpirationQueue, ExpireOrder};

/// The first pause before publishing again after a failure; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// The longest pause between two publishing attempts.
const MAX_RETRY: Duration = Duration::from_secs(5);
/// The pause before a worker that lost Redis is started again.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// What a job needs to fire: the bus, and the shutdown signal that ends its retrying.
#[derive(Clone)]
struct Expirer {
    bus: Bus,
    shutdown: CancellationToken,
}

impl Expirer {
    /// Waits until the order's `expiresAt`, then publishes `expiration:complete` until the
    /// stream acknowledges it (or the service stops).
    async fn expire(&self, job: &ExpireOrder) -> anyhow::Result<()> {
        // Due at the start of its second: wait out the fraction, so it is never early.
        if let Ok(wait) = (job.expires_at - chrono::Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        let event = ExpirationComplete {
            order_id: job.order_id.clone(),
        };
        let message_id = job.message_id();
        let mut pause = FIRST_RETRY;
        loop {
            let error = match self.bus.publish(&event, &message_id).await {
                Ok(duplicate) => {
                    let late_ms = (chrono::Utc::now() - job.expires_at).num_milliseconds();
                    tracing::info!(order_id = %job.order_id, late_ms, duplicate, "order expired");
                    return Ok(());
                }
                Err(error) => error,
            };
            tracing::warn!(order_id = %job.order_id, error = format!("{error:#}"), "publishing expiration:complete failed; retrying");
            tokio::select! {
                () = self.shutdown.cancelled() => {
                    return Err(error.context("stopping; the job is rescheduled"));
                }
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(MAX_RETRY);
        }
    }
}

/// The job handler apalis calls.
async fn expire_order(job: ExpireOrder, expirer: Data<Expirer>) -> Result<(), BoxDynError> {
    expirer.expire(&job).await.map_err(|error| {
        tracing::warn!(order_id = %job.order_id, error = format!("{error:#}"), "expiration job failed");
        error.into()
    })
}

/// A worker name unique to this process: the replica's `NATS_CLIENT_ID` and when it started.
pub fn worker_name(client_id: &str) -> String {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{client_id}:{started:x}")
}

/// Fires the jobs of `queue` until `shutdown`, then lets the running ones finish. If Redis
/// fails under it, the worker is started again (under a fresh name: Redis still holds the old
/// one until its heartbeats lapse).
pub async fn run(queue: ExpirationQueue, bus: Bus, name: String, shutdown: CancellationToken) {
    let expirer = Expirer {
        bus,
        shutdown: shutdown.clone(),
    };
    let mut restarts = 0_u32;
    while !shutdown.is_cancelled() {
        let incarnation = format!("{name}:{restarts}");
        let worker = WorkerBuilder::new(incarnation.as_str())
            .backend(queue.storage())
            .data(expirer.clone())
            .build(expire_order);
        let stop = shutdown.clone();
        let stopped = async move {
            stop.cancelled().await;
            Ok::<(), WorkerError>(())
        };
        match worker.run_until(stopped).await {
            Ok(()) => break,
            Err(error) => {
                if shutdown.is_cancelled() {
                    break;
                }
                tracing::warn!(worker = %incarnation, error = %error, "expiration worker failed; restarting it");
                restarts += 1;
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(RESTART_DELAY) => {}
                }
            }
        }
    }
    tracing::info!(worker = %name, "expiration worker stopped");
}
