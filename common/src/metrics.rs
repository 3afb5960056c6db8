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
//!   `outbox_oldest_record_seconds`; [`crate::outbox`]).
//!
//! A service adds its own with the `metrics` macros.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The path the metrics are served at, on the metrics port.
pub const PATH: &str = "/metrics";

/// The metrics port when `METRICS_PORT` is not set (the OpenTelemetry Prometheus exporter's).
pub const DEFAULT_PORT: u16 = 9464;

/// Buckets of every `*_seconds` histogram: a millisecond to half a minute.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

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
        handle
    })
}

/// The metrics port's routes: `GET /metrics`.
pub fn router() -> Router {
    Router::new().route(PATH, get(render))
}

async fn render() -> impl IntoResponse {
    let handle = handle();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
