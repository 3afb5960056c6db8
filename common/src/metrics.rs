//! Prometheus metrics: one recorder per process, written by the `metrics` facade wherever
//! something happens, and served as Prometheus' text format on a port of the service's own
//! (`METRICS_PORT`), which no ingress or Gateway route leads to: what the fleet does is for its
//! operators, not its users.
//!
//! The families every service has are recorded here, in `common`:
//!
//! - HTTP requests by route template (`http_requests_total`, `http_request_duration_seconds`,
//!   `http_requests_in_flight`; [`crate::server`]);
//! - MongoDB commands by name (`mongodb_commands_total`, `mongodb_command_duration_seconds`;
//!   [`crate::mongo`]);
//! - events each listener took, by subject, queue group and outcome (`applied`, `not_yet`,
//!   `failed`, `parked`), its redeliveries and how long handling took (`bus_events_total`,
//!   `bus_redeliveries_total`, `bus_event_handling_seconds`; [`crate::bus::listener`]);
//! - the outbox relay: events published, how long a batch took from send to acknowledgement,
//!   and the age of the oldest record waiting, which grows while the bus refuses or is away
//!   (`outbox_events_published_total`, `outbox_publish_seconds`,
//!   `outbox_oldest_record_seconds`; [`crate::outbox`]);
//! - how long an event waited in the stream before a listener applied it
//!   (`bus_event_lag_seconds`: the propagation lag; [`crate::bus::listener`]).
//!
//! Gauges of state another server keeps are read when Prometheus scrapes, not polled: a
//! [`Collector`] registered with [`collect_at_scrape`] runs before each render, for as long as
//! its [`Collected`] is held. So are:
//!
//! - the outbox's pending records (`outbox_records_pending`; [`crate::outbox`]);
//! - each listener's consumer: events not yet delivered and delivered but unacknowledged
//!   (`bus_consumer_pending_events`, `bus_consumer_unacknowledged_events`), and its stream's
//!   bytes against its limit (`bus_stream_bytes`, `bus_stream_max_bytes`;
//!   [`crate::bus::listener`]);
//! - the process: CPU seconds, resident memory, open file descriptors (its sockets among
//!   them), threads (`process_*`, from `metrics-process`).
//!
//! A service adds its own with the `metrics` macros.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::locks::lock;

/// The path the metrics are served at, on the metrics port.
pub const PATH: &str = "/metrics";

/// The metrics port when `METRICS_PORT` is not set (the OpenTelemetry Prometheus exporter's).
pub const DEFAULT_PORT: u16 = 9464;

/// Buckets of every `*_seconds` histogram: a millisecond to half a minute.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How long a scrape waits for the collectors: one that does not answer in time (its server
/// away) leaves its gauges at their last values rather than holding up the others.
const COLLECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads a gauge's source and sets it; run before each render.
pub type Collector = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// The collectors registered, by registration.
fn collectors() -> &'static Mutex<BTreeMap<u64, Collector>> {
    static COLLECTORS: OnceLock<Mutex<BTreeMap<u64, Collector>>> = OnceLock::new();
    COLLECTORS.get_or_init(|| {
        // The recorder first: what a collector records before it is installed is lost.
        handle();
        let process = metrics_process::Collector::default();
        process.describe();
        let process: Collector = Arc::new(move || {
            process.collect();
            Box::pin(async {})
        });
        Mutex::new(BTreeMap::from([(0, process)]))
    })
}

/// Runs `collector` before each render until the returned [`Collected`] is dropped.
#[must_use = "dropping it unregisters the collector"]
pub fn collect_at_scrape(collector: Collector) -> Collected {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    lock(collectors()).insert(id, collector);
    Collected(id)
}

/// A registered collector; dropping it unregisters it.
#[derive(Debug)]
pub struct Collected(u64);

impl Drop for Collected {
    fn drop(&mut self) {
        lock(collectors()).remove(&self.0);
    }
}

/// The process's metrics in Prometheus' text format, the collectors run first. Each runs in a
/// task of its own, so one past the timeout still finishes (no database or bus call is cut
/// half-way) and only its gauges miss this render.
pub async fn render() -> String {
    let running: Vec<_> = lock(collectors())
        .values()
        .map(|collect| tokio::spawn(collect()))
        .collect();
    let _ = tokio::time::timeout(COLLECT_TIMEOUT, futures_util::future::join_all(running)).await;
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// The process's recorder, installed the first time it is asked for (by a service's start, or
/// by the first of a test binary's services: they share it, as they share the process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (a test's own) keeps its place; this one still
        // renders, empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already");
        }
        keep_up(handle.clone());
        handle
    })
}

/// How often the histograms' samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds the histograms' samples into their buckets every [`UPKEEP_INTERVAL`], from a thread
/// of its own. The recorder keeps each sample until then: with no scrape (no Prometheus, or
/// one that is away) a service would otherwise keep one per request for as long as it runs.
fn keep_up(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "histograms are folded only when scraped");
    }
}

/// The metrics port's routes: `GET /metrics`.
pub fn router() -> Router {
    Router::new().route(PATH, get(scrape))
}

async fn scrape() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render().await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{matching, samples};

    fn sum(text: &str, family: &str) -> f64 {
        matching(&samples(text), family, &[]).iter().sum()
    }

    #[tokio::test]
    async fn a_render_has_the_process_and_runs_each_collector_while_it_is_held() {
        let collected = collect_at_scrape(Arc::new(|| {
            Box::pin(async { metrics::counter!("test_collections_total").increment(1) })
        }));
        let text = render().await;
        assert!(sum(&text, "process_resident_memory_bytes") > 0.0, "{text}");
        assert!(sum(&text, "process_open_fds") > 0.0, "{text}");
        assert!(text.contains("process_cpu_seconds_total"), "{text}");
        // The other tests of this binary render meanwhile (under `cargo test`), running it too.
        let first = sum(&text, "test_collections_total");
        assert!(first >= 1.0, "{text}");
        assert!(sum(&render().await, "test_collections_total") > first);
        drop(collected);
        let last = sum(&render().await, "test_collections_total");
        assert_eq!(sum(&render().await, "test_collections_total"), last);
    }

    #[tokio::test]
    async fn a_collector_that_does_not_answer_holds_up_a_render_only_for_its_timeout() {
        let _stuck = collect_at_scrape(Arc::new(|| Box::pin(std::future::pending())));
        let started = std::time::Instant::now();
        let text = render().await;
        assert!(started.elapsed() >= COLLECT_TIMEOUT);
        assert!(text.contains("process_threads"), "{text}");
    }
}
