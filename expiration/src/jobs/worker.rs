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

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::prelude::{BoxDynError, Data, Event, EventListenerExt, WorkerBuilder, WorkerError};
use common::bus::Bus;
use common::events::ExpirationComplete;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::jobs::{ExpirationQueue, ExpireOrder, MISSED_HEARTBEATS, POLL_INTERVAL};

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
                    let late = chrono::Utc::now() - job.expires_at;
                    let late_ms = late.num_milliseconds();
                    tracing::info!(order_id = %job.order_id, late_ms, duplicate, "order expired");
                    // A duplicate: an earlier run of this job published it, and counted it.
                    if !duplicate {
                        crate::metrics::expiration_published(late.to_std().unwrap_or_default());
                    }
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

/// A worker that has not beaten for this long counts as stalled and is replaced: the same
/// span after which other workers take over its running jobs ([`MISSED_HEARTBEATS`] ×
/// [`POLL_INTERVAL`]). apalis-redis' polling can stop for good without an error: in a soak on
/// a loaded machine the worker's last heartbeat was the last thing it did, while due jobs
/// piled up in Redis and every order stayed unexpired.
const STALLED_AFTER: Duration = POLL_INTERVAL.saturating_mul(MISSED_HEARTBEATS as u32);

/// When a worker last showed it was alive.
#[derive(Clone)]
struct Heartbeats(Arc<Mutex<Instant>>);

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats(Arc::new(Mutex::new(Instant::now())))
    }
}

impl Heartbeats {
    /// Notes the worker's `event`: a heartbeat, or a job done or failed, is a sign of life.
    fn saw(&self, event: &Event) {
        if matches!(
            event,
            Event::Start | Event::HeartBeat | Event::Success(_) | Event::Error(_)
        ) && let Ok(mut last) = self.0.lock()
        {
            *last = Instant::now();
        }
    }

    /// Completes once no sign of life has come for [`STALLED_AFTER`].
    async fn stopped(&self) {
        loop {
            let last = self
                .0
                .lock()
                .map(|last| *last)
                .unwrap_or_else(|_| Instant::now());
            let silent = last.elapsed();
            if silent >= STALLED_AFTER {
                return;
            }
            tokio::time::sleep(STALLED_AFTER - silent).await;
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
        let beats = Heartbeats::default();
        let worker = WorkerBuilder::new(incarnation.as_str())
            .backend(queue.storage())
            .data(expirer.clone())
            .on_event({
                let beats = beats.clone();
                move |_, event| beats.saw(event)
            })
            .build(expire_order);
        let stop = shutdown.clone();
        let stopped = async move {
            stop.cancelled().await;
            Ok::<(), WorkerError>(())
        };
        let failure = tokio::select! {
            result = worker.run_until(stopped) => match result {
                Ok(()) => break,
                Err(error) => error.to_string(),
            },
            () = beats.stopped() => format!(
                "no heartbeat for {} ms: its polling stalled",
                STALLED_AFTER.as_millis()
            ),
        };
        if shutdown.is_cancelled() {
            break;
        }
        tracing::warn!(worker = %incarnation, error = %failure, "expiration worker failed; restarting it");
        restarts += 1;
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(RESTART_DELAY) => {}
        }
    }
    tracing::info!(worker = %name, "expiration worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_worker_counts_as_stalled_only_after_a_silence_of_stalled_after() {
        let beats = Heartbeats::default();
        let stalled = tokio::spawn({
            let beats = beats.clone();
            async move { beats.stopped().await }
        });
        let step = STALLED_AFTER / 5;
        for _ in 0..4 {
            tokio::time::advance(step).await;
            tokio::task::yield_now().await;
        }
        assert!(!stalled.is_finished(), "stalled before its time");
        // A heartbeat starts the silence over.
        beats.saw(&Event::HeartBeat);
        for _ in 0..4 {
            tokio::time::advance(step).await;
            tokio::task::yield_now().await;
        }
        assert!(!stalled.is_finished(), "a heartbeat was not a sign of life");
        // Other events are not.
        beats.saw(&Event::Stop);
        tokio::time::advance(step + Duration::from_millis(1)).await;
        tokio::time::timeout(Duration::from_secs(1), stalled)
            .await
            .expect("a silent worker never counted as stalled")
            .unwrap();
    }
}
