//! Logs and traces.
//!
//! **Logs**: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for one JSON object per line
//! (for a log collector), human-readable lines otherwise. Lines are formatted where they are
//! logged and written to standard output by a thread of their own, in batches: a request's
//! thread never waits on the write, and a burst of lines costs one write rather than one per
//! line. At most `LOG_BUFFER_LINES` (default [`DEFAULT_BUFFER_LINES`]) wait for that thread;
//! past that, logging waits for room rather than dropping a line.
//!
//! **Traces**: every `tracing` span is an OpenTelemetry span too. A request's span continues
//! the W3C `traceparent` it came with (from the ingress or the caller), or starts a trace; an
//! event recorded in the outbox keeps its span's context and the relay sends it in the NATS
//! message's `traceparent` header, which the listener's span continues ([`propagation`]). So one
//! purchase is one trace across the fleet. Each JSON line carries the `trace_id` and `span_id`
//! of the span it was logged in, so its lines can be joined without a collector.
//!
//! Spans are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, in batches from a thread of their own, named
//! by `OTEL_SERVICE_NAME` (default: the program's name). Otherwise no span is recorded: each
//! only gets its ids, for the logs and for the next hop.

pub mod propagation;

use std::io::BufWriter;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::dispatcher::WeakDispatch;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The spans traced: the fleet's own (`common` and each service's crate), at `info` and
/// above; none of its libraries'.
const SPANS: &str =
    "warn,common=info,auth=info,tickets=info,orders=info,payments=info,expiration=info,client=info";

/// Lines that may wait for the writing thread, by default.
pub const DEFAULT_BUFFER_LINES: usize = 8192;

/// Keeps the log writer and the span exporter: dropped as the process ends, it writes out every
/// line and exports every span still waiting. Hold it for the whole of `main`.
#[must_use = "dropping it stops the log writer and the span exporter"]
pub struct Logging {
    _writer: Option<WorkerGuard>,
    traces: Option<SdkTracerProvider>,
}

impl Drop for Logging {
    fn drop(&mut self) {
        if let Some(traces) = self.traces.take()
            && let Err(error) = traces.shutdown()
        {
            eprintln!("exporting the last spans failed: {error}");
        }
    }
}

/// Installs the global subscriber once; later calls do nothing (and keep no writer).
pub fn init() -> Logging {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let lines = std::env::var("LOG_BUFFER_LINES")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .filter(|lines: &usize| *lines > 0)
        .unwrap_or(DEFAULT_BUFFER_LINES);
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(lines)
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::new(std::io::stdout()));
    let (traces, exporting) = tracer_provider();
    let spans = tracing_opentelemetry::layer()
        .with_tracer(traces.tracer("ticketing"))
        // Ids and parents only: no attach per poll, no timings, no source locations.
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_threads(false);
    // `RUST_LOG` chooses the lines; the spans are the services' own at `info` whatever it
    // says, so a trace is continued however quiet the logs.
    let installed = tracing_subscriber::registry()
        .with(spans.with_filter(EnvFilter::new(SPANS)))
        .with(lines_layer(writer, json).with_filter(filter))
        .try_init();
    if installed.is_ok() && exporting {
        tracing::info!("exporting traces over OTLP");
    }
    Logging {
        _writer: installed.is_ok().then_some(guard),
        traces: (installed.is_ok() && exporting).then_some(traces),
    }
}

/// The log lines: JSON objects with the trace and span ids, or compact text.
fn lines_layer<S, W>(writer: W, json: bool) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    if json {
        let mut layer = json_subscriber::JsonLayer::new(writer);
        layer
            .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
            .with_level("level")
            .with_flattened_event()
            .with_target("target")
            .with_current_span("span")
            .with_span_list("spans");
        // The ids come from the OpenTelemetry layer through the subscriber, which a layer
        // cannot reach from inside its own callback (`get_default` answers "none" there): the
        // subscriber is kept when the layers are registered with it.
        let subscriber = Arc::new(OnceLock::<WeakDispatch>::new());
        let kept = subscriber.clone();
        layer.add_multiple_dynamic_fields(move |event, context, fields| {
            let Some(span) = context.event_span(event) else {
                return;
            };
            let Some(dispatch) = kept.get().and_then(WeakDispatch::upgrade) else {
                return;
            };
            let Some(otel) = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch) else {
                return;
            };
            let ids = otel.span().span_context().clone();
            if ids.is_valid() {
                let _ = fields.write_field("trace_id", ids.trace_id().to_string());
                let _ = fields.write_field("span_id", ids.span_id().to_string());
            }
        });
        layer.and_then(KeepSubscriber(subscriber)).boxed()
    } else {
        // Colours only for a person at a terminal: not in files, nor in `cargo xtask up`'s
        // prefixed lines.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed()
    }
}

/// Keeps the subscriber it is registered with, for the JSON lines' ids.
struct KeepSubscriber(Arc<OnceLock<WeakDispatch>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for KeepSubscriber {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// The spans' provider: exporting over OTLP when an endpoint is set (and whether it does);
/// otherwise recording nothing, its spans only carrying ids.
fn tracer_provider() -> (SdkTracerProvider, bool) {
    let endpoint_set = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    let name = std::env::var("OTEL_SERVICE_NAME").ok().or_else(|| {
        std::env::current_exe()
            .ok()?
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
    });
    let resource = Resource::builder()
        .with_service_name(name.unwrap_or_else(|| "ticketing".to_owned()))
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    if endpoint_set {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => return (builder.with_batch_exporter(exporter).build(), true),
            Err(error) => eprintln!("traces are not exported: {error}"),
        }
    }
    (builder.with_sampler(Sampler::AlwaysOff).build(), false)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Lines written, for a test to read.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[test]
    fn a_json_line_carries_its_spans_trace_and_span_ids_and_its_fields() {
        let lines = Lines::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(lines_layer(lines.clone(), true));
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let next = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!("request", path = "/api/orders");
            propagation::continue_trace(&span, Some(traceparent));
            span.in_scope(|| tracing::info!(status = 201, "request handled"));
            propagation::traceparent(&span).unwrap()
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["message"], "outside any span");
        assert!(lines[0].get("trace_id").is_none(), "{text}");
        let handled = &lines[1];
        assert_eq!(handled["message"], "request handled");
        assert_eq!(handled["status"], 201);
        assert_eq!(handled["level"], "INFO");
        assert_eq!(handled["span"]["path"], "/api/orders");
        assert_eq!(
            handled["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "{text}"
        );
        assert_eq!(handled["span_id"], next.split('-').nth(2).unwrap());
    }
}
