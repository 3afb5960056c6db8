//! Logs and traces.
//!
//! **Logs**: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for one JSON object per line
//! (for a log collector), human-readable lines otherwise. Lines are formatted where they are
//! logged and written to standard output by a thread of their own, in batches at most
//! [`writer::INTERVAL`] apart ([`writer`]): a request's thread never waits on the write, and the
//! lines of a batch cost one write rather than one each. At most `LOG_BUFFER_LINES` (default
//! [`DEFAULT_BUFFER_LINES`]) wait for that thread; past that, logging waits for room rather
//! than dropping a line.
//!
//! **Traces**: `tracing` spans are OpenTelemetry spans too (which ones: below). A request's
//! span continues the W3C `traceparent` it came with (from the ingress or the caller), or
//! starts a trace; an event recorded in the outbox keeps its span's context and the relay sends
//! it in the NATS message's `traceparent` header, which the listener's span continues
//! ([`propagation`]). So one purchase is one trace across the fleet. Each JSON line carries the `trace_id` and `span_id`
//! of the span it was logged in, so its lines can be joined without a collector.
//!
//! Spans are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, in batches from a thread of their own, named
//! by `OTEL_SERVICE_NAME` (default: the program's name); then the fleet's own spans are traced
//! at `info` whatever `RUST_LOG` says. Otherwise no span is recorded: with JSON lines the spans
//! `RUST_LOG` lets through only get their ids, for the lines and for the next hop (at `warn` a
//! request builds no span at all); text lines show no id, so they get no OpenTelemetry span, and
//! a request none at all: its line carries its method and path itself.

mod json;
pub mod propagation;
pub mod writer;

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::dispatcher::WeakDispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{self, FilterExt as _};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The spans exported: the fleet's own (`common` and each service's crate), at `info` and
/// above; none of its libraries'.
const SPANS: &str =
    "warn,common=info,auth=info,tickets=info,orders=info,payments=info,expiration=info,client=info";

/// The name of a request's span ([`crate::server::with_request_logs`]). Text lines leave it out:
/// they show no trace ids, and the request's line carries its fields itself. Without an exporter,
/// no layer then wants it, and a request builds no span at all.
pub const REQUEST_SPAN: &str = "request";

/// The lines' filter when `RUST_LOG` is not set.
const DEFAULT_LINES: &str = "info";

/// Which spans are OpenTelemetry spans, getting trace ids: [`SPANS`] while exporting, whatever
/// `RUST_LOG` says, so that a trace goes on however quiet the logs; otherwise, for JSON lines,
/// the lines' own filter, the ids being only for the lines (and the next hop); for text lines,
/// none, since no line shows an id. A span no layer wants is never built: at `warn`, without an
/// exporter, a request costs no span at all.
fn spans_filter(exporting: bool, json: bool, rust_log: Option<&str>) -> Option<EnvFilter> {
    if exporting {
        Some(EnvFilter::new(SPANS))
    } else if json {
        Some(lines_filter(rust_log))
    } else {
        None
    }
}

/// The lines' filter: `rust_log` (the value of `RUST_LOG`), or [`DEFAULT_LINES`] when it is
/// unset or unreadable.
fn lines_filter(rust_log: Option<&str>) -> EnvFilter {
    rust_log
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_LINES))
}

/// What the lines take: what `filter` lets through, but for text lines not the request's span
/// ([`REQUEST_SPAN`]).
fn lines_and_spans<S: tracing::Subscriber>(
    filter: EnvFilter,
    json: bool,
) -> Box<dyn Filter<S> + Send + Sync> {
    if json {
        Box::new(filter)
    } else {
        let not_a_request =
            filter::filter_fn(|metadata| !(metadata.is_span() && metadata.name() == REQUEST_SPAN))
                // Any level: the lines' own filter sets the highest, so that what it leaves out is
                // never even asked about.
                .with_max_level_hint(filter::LevelFilter::TRACE);
        Box::new(filter.and(not_a_request))
    }
}

/// Lines that may wait for the writing thread, by default.
pub const DEFAULT_BUFFER_LINES: usize = 8192;

/// Keeps the log writer and the span exporter: dropped as the process ends, it writes out every
/// line and exports every span still waiting. Hold it for the whole of `main`.
#[must_use = "dropping it stops the log writer and the span exporter"]
pub struct Logging {
    _writer: Option<writer::Flusher>,
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
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let lines = std::env::var("LOG_BUFFER_LINES")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .filter(|lines: &usize| *lines > 0)
        .unwrap_or(DEFAULT_BUFFER_LINES);
    let (traces, exporting) = tracer_provider();
    let settings = Settings {
        json,
        exporting,
        rust_log: rust_log.as_deref(),
    };
    let (installed, flusher) = match writer::start(std::io::stdout(), lines) {
        Ok((writer, flusher)) => (
            subscriber(writer, settings, &traces).try_init(),
            Some(flusher),
        ),
        Err(error) => {
            eprintln!("no thread to write the log lines ({error}): written where logged");
            (
                subscriber(std::io::stdout, settings, &traces).try_init(),
                None,
            )
        }
    };
    if installed.is_ok() && exporting {
        tracing::info!("exporting traces over OTLP");
    }
    Logging {
        _writer: flusher.filter(|_| installed.is_ok()),
        traces: (installed.is_ok() && exporting).then_some(traces),
    }
}

/// How the lines are written and whether spans are exported, from the environment.
#[derive(Clone, Copy)]
struct Settings<'a> {
    json: bool,
    exporting: bool,
    rust_log: Option<&'a str>,
}

/// The lines, written to `writer`, and the OpenTelemetry spans of `traces`, each layer with its
/// own filter.
fn subscriber<W>(
    writer: W,
    settings: Settings<'_>,
    traces: &SdkTracerProvider,
) -> impl tracing::Subscriber + Send + Sync + for<'span> LookupSpan<'span>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let Settings {
        json,
        exporting,
        rust_log,
    } = settings;
    let spans = tracing_opentelemetry::layer()
        .with_tracer(traces.tracer("ticketing"))
        // Ids and parents only: no attach per poll, no timings, no source locations.
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_threads(false);
    // Off rather than absent when no span is wanted: a layer left out (`None`) would still vote
    // for every span the lines leave out, and the registry would build each one for nobody.
    let spans_only: Box<dyn Filter<_> + Send + Sync> = match spans_filter(exporting, json, rust_log)
    {
        Some(only) if exporting => Box::new(only),
        // Only the spans, for their ids: an event would become a span event, its fields copied
        // into attributes, that nothing records.
        Some(only) => Box::new(only.and(filter::filter_fn(|metadata| metadata.is_span()))),
        None => Box::new(filter::LevelFilter::OFF),
    };
    tracing_subscriber::registry()
        .with(spans.with_filter(spans_only))
        .with(lines_layer(writer, json).with_filter(lines_and_spans(lines_filter(rust_log), json)))
}

/// The log lines: JSON objects with the trace and span ids, or compact text.
fn lines_layer<S, W>(writer: W, json: bool) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    if json {
        // The ids come from the OpenTelemetry layer through the subscriber, which a layer
        // cannot reach from inside its own callback (`get_default` answers "none" there): the
        // subscriber is kept when the layers are registered with it.
        let subscriber = Arc::new(OnceLock::<WeakDispatch>::new());
        tracing_subscriber::fmt::layer()
            .fmt_fields(json::SpanFields)
            .event_format(json::JsonLine {
                subscriber: subscriber.clone(),
            })
            .with_writer(writer)
            .and_then(KeepSubscriber(subscriber))
            .boxed()
    } else {
        // Colours only for a person at a terminal: not in files, nor in `cargo xtask up`'s
        // prefixed lines.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        tracing_subscriber::fmt::layer()
            .compact()
            .with_timer(LineTime)
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed()
    }
}

/// The lines' time, in UTC to the microsecond (RFC 3339, as tracing-subscriber's `SystemTime`
/// writes it). Each thread formats the date and the time to the second once a second, rather
/// than for every line: formatting all of it was a fifth of what a request's line cost.
struct LineTime;

impl FormatTime for LineTime {
    fn format_time(&self, out: &mut Writer<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        thread_local! {
            static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
        }
        let now = chrono::Utc::now();
        let this_second = now.timestamp();
        SECOND.with_borrow_mut(|(second, formatted)| {
            if *second != this_second {
                formatted.clear();
                write!(formatted, "{}", now.format("%Y-%m-%dT%H:%M:%S"))?;
                *second = this_second;
            }
            write!(out, "{formatted}.{:06}Z", now.timestamp_subsec_micros())
        })
    }
}

/// Keeps the subscriber it is registered with, for the JSON lines' ids.
struct KeepSubscriber(Arc<OnceLock<WeakDispatch>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for KeepSubscriber {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// Where spans are exported, from the environment as OpenTelemetry defines it:
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, or `OTEL_EXPORTER_OTLP_ENDPOINT` with
/// `/v1/traces`; `None` when neither is set.
fn traces_endpoint(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
        let base = set("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        Some(format!("{}/v1/traces", base.trim_end_matches('/')))
    })
}

/// The spans' provider: exporting over OTLP/HTTP to the environment's endpoint, if any (and
/// whether it does); otherwise recording nothing, its spans only carrying ids.
fn tracer_provider() -> (SdkTracerProvider, bool) {
    let name = std::env::var("OTEL_SERVICE_NAME").ok().or_else(|| {
        std::env::current_exe()
            .ok()?
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
    });
    let endpoint = traces_endpoint(|name| std::env::var(name).ok());
    let exporting = endpoint.is_some();
    let name = name.unwrap_or_else(|| "ticketing".to_owned());
    (provider_for(endpoint, name), exporting)
}

/// Spans named for `service`, exported in batches to `endpoint`, or not recorded at all.
fn provider_for(endpoint: Option<String>, service: String) -> SdkTracerProvider {
    let resource = Resource::builder().with_service_name(service).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = endpoint {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
        {
            Ok(exporter) => return builder.with_batch_exporter(exporter).build(),
            Err(error) => eprintln!("traces are not exported: {error}"),
        }
    }
    builder.with_sampler(Sampler::AlwaysOff).build()
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
    fn spans_follow_the_json_lines_filter_unless_exported() {
        let chosen = |exporting, json, lines| {
            spans_filter(exporting, json, lines).map(|filter: EnvFilter| filter.to_string())
        };
        let fleet = Some(EnvFilter::new(SPANS).to_string());
        assert_eq!(chosen(true, false, Some("warn")), fleet);
        assert_eq!(chosen(true, true, Some("warn")), fleet);
        assert_eq!(chosen(false, true, Some("warn")).as_deref(), Some("warn"));
        assert_eq!(chosen(false, true, None).as_deref(), Some("info"));
        // Unreadable, as for the lines: `info`.
        assert_eq!(
            chosen(false, true, Some("common=loudest")).as_deref(),
            Some("info")
        );
        // Text lines show no ids: without an exporter, no span is an OpenTelemetry span.
        assert_eq!(chosen(false, false, Some("info")), None);
        // And a span the filter does not want is not built at all. Asked of the subscriber
        // itself: a callsite's cached interest is shared with the other tests' subscribers.
        let request = tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            tracing::info_span!("request")
        });
        let request = request
            .metadata()
            .expect("a span of a subscriber that takes all");
        let at_warn = tracing_subscriber::registry().with(EnvFilter::new("warn"));
        assert!(!tracing::Subscriber::enabled(&at_warn, request));
        let at_info = tracing_subscriber::registry().with(lines_filter(None));
        assert!(tracing::Subscriber::enabled(&at_info, request));
    }

    #[test]
    fn a_request_span_is_built_only_for_traces_or_json_lines() {
        let provider = provider_for(None, "tickets".to_owned());
        let built = |json, exporting| {
            let settings = Settings {
                json,
                exporting,
                rust_log: Some("info"),
            };
            let subscriber = subscriber(Lines::default(), settings, &provider);
            tracing::subscriber::with_default(subscriber, || {
                let request = tracing::info_span!(REQUEST_SPAN);
                let event = tracing::info_span!("event");
                (!request.is_disabled(), !event.is_disabled())
            })
        };
        // Text lines show other spans, not the request's: its fields are on its line.
        assert_eq!(built(false, false), (false, true));
        assert_eq!(built(true, false), (true, true));
        assert_eq!(built(false, true), (true, true));
    }

    /// The lines `app` logs for one `GET /things/7?secret=1` with `traceparent`, as `json` or
    /// text lines, without an exporter.
    async fn lines_of_a_request(json: bool, traceparent: &str) -> String {
        use tower::ServiceExt as _;
        let lines = Lines::default();
        let provider = provider_for(None, "tickets".to_owned());
        let settings = Settings {
            json,
            exporting: false,
            rust_log: Some("info"),
        };
        let _default =
            tracing::subscriber::set_default(subscriber(lines.clone(), settings, &provider));
        let routes = axum::Router::new().route(
            "/things/{id}",
            axum::routing::get(|| async {
                tracing::info!("looking");
                axum::http::StatusCode::ACCEPTED
            }),
        );
        let request = axum::http::Request::get("/things/7?secret=1")
            .header(propagation::TRACEPARENT, traceparent)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = crate::server::with_request_logs(routes)
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[tokio::test]
    async fn a_request_line_carries_its_method_path_status_and_latency() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let text = lines_of_a_request(false, traceparent).await;
        let [looking, handled] = text.lines().collect::<Vec<_>>()[..] else {
            panic!("two lines: {text}");
        };
        assert!(looking.ends_with("looking"), "{text}");
        assert!(
            handled.contains(" request handled method=GET path=/things/7 status=202 latency_ms="),
            "{text}"
        );
        assert!(
            !text.contains("secret") && !text.contains("4bf92f"),
            "{text}"
        );

        let text = lines_of_a_request(true, traceparent).await;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let [looking, handled] = &lines[..] else {
            panic!("two lines: {text}");
        };
        for line in [looking, handled] {
            assert_eq!(
                line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
                "{text}"
            );
            assert_eq!(line["span"]["path"], "/things/7", "{text}");
        }
        assert_eq!(handled["message"], "request handled");
        assert_eq!(handled["method"], "GET");
        assert_eq!(handled["path"], "/things/7");
        assert_eq!(handled["status"], 202);
        assert!(handled["latency_ms"].as_f64().is_some(), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn a_lines_time_is_rfc_3339_in_utc_to_the_microsecond() {
        let formatted = || {
            let mut time = String::new();
            LineTime.format_time(&mut Writer::new(&mut time)).unwrap();
            time
        };
        let before = chrono::Utc::now();
        // Within one second, then across the next.
        let times = [formatted(), formatted()];
        std::thread::sleep(std::time::Duration::from_millis(1001));
        let later = formatted();
        let after = chrono::Utc::now();
        for time in times.iter().chain([&later]) {
            assert_eq!(time.len(), "2026-12-07T14:08:23.367284Z".len(), "{time}");
            let parsed = chrono::DateTime::parse_from_rfc3339(time).unwrap();
            let to_the_micro = before - chrono::Duration::microseconds(1);
            assert!(to_the_micro <= parsed && parsed <= after, "{time}");
        }
        assert!(
            times[0] <= times[1] && times[1] < later,
            "{times:?} {later}"
        );
        assert_ne!(times[1][..19], later[..19]);
    }

    #[test]
    fn the_traces_endpoint_is_the_signals_own_or_the_base_with_v1_traces() {
        let from = |vars: &'static [(&'static str, &'static str)]| {
            traces_endpoint(|name| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
        };
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]), None);
        assert_eq!(
            from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:4318/custom"
                ),
            ])
            .as_deref(),
            Some("http://traces:4318/custom")
        );
    }

    #[test]
    fn with_an_endpoint_spans_are_exported_over_otlp_http_without_none_are_recorded() {
        use std::io::{BufRead as _, Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let collector = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut head = Vec::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push(line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            (head, body)
        });
        let exporting = provider_for(
            Some(format!("http://127.0.0.1:{port}/v1/traces")),
            "tickets".to_owned(),
        );
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(exporting.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("request").in_scope(|| tracing::info!("handled"));
        });
        exporting.force_flush().unwrap();
        let (head, body) = collector.join().unwrap();
        assert!(head[0].starts_with("POST /v1/traces "), "{head:?}");
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("tickets") && body.contains("request"),
            "{body}"
        );
        exporting.shutdown().unwrap();

        let silent = provider_for(None, "tickets".to_owned());
        let span = opentelemetry::trace::Tracer::start(&silent.tracer("test"), "request");
        assert!(!opentelemetry::trace::Span::is_recording(&span));
        assert!(opentelemetry::trace::Span::span_context(&span).is_valid());
    }

    /// What `body` answers, and the JSON lines it logs at `info` without an exporter, each
    /// parsed and all as written.
    fn json_lines_of<R>(body: impl FnOnce() -> R) -> (R, Vec<serde_json::Value>, String) {
        let lines = Lines::default();
        let provider = provider_for(None, "tickets".to_owned());
        let settings = Settings {
            json: true,
            exporting: false,
            rust_log: Some("info"),
        };
        let subscriber = subscriber(lines.clone(), settings, &provider);
        let answer = tracing::subscriber::with_default(subscriber, body);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed = text
            .lines()
            .map(|line| serde_json::from_str(line).expect(line))
            .collect();
        (answer, parsed, text)
    }

    #[test]
    fn a_json_line_carries_its_spans_trace_and_span_ids_and_its_fields() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (next, lines, text) = json_lines_of(|| {
            tracing::info!("outside any span");
            let span = tracing::info_span!("request", path = "/api/orders");
            propagation::continue_trace(&span, Some(traceparent));
            span.in_scope(|| tracing::info!(status = 201, "request handled"));
            propagation::traceparent(&span).unwrap()
        });
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

    #[test]
    fn a_json_line_is_one_object_with_its_spans_outermost_first_and_text_escaped() {
        let awkward = "a \"quoted\" word,\na new line, a tab\t, a \\ and é";
        let (ids, lines, text) = json_lines_of(|| {
            let listener = tracing::info_span!("listener", subject = "ticket:created");
            let attempt = listener.in_scope(|| {
                tracing::info_span!("transaction", attempt = tracing::field::Empty, id = 7)
            });
            attempt.record("attempt", 2);
            attempt.in_scope(|| {
                tracing::warn!(detail = %awkward, ratio = 0.5, ok = true, "{awkward}");
                tracing::info!(only = "a field");
            });
            // A library's record through the `log` bridge: its own target and level.
            tracing_log::format_trace(
                &log::Record::builder()
                    .target("rustls::client")
                    .level(log::Level::Warn)
                    .args(format_args!("a library's warning"))
                    .build(),
            )
            .unwrap();
            [&listener, &attempt].map(|span| propagation::traceparent(span).unwrap())
        });
        let [warned, only, library] = &lines[..] else {
            panic!("three lines: {text}");
        };
        assert_eq!(warned["message"], awkward);
        assert_eq!(warned["detail"], awkward);
        assert_eq!(warned["ratio"], 0.5);
        assert_eq!(warned["ok"], true);
        assert_eq!(warned["level"], "WARN");
        assert_eq!(warned["target"], module_path!());
        assert!(
            chrono::DateTime::parse_from_rfc3339(warned["timestamp"].as_str().unwrap()).is_ok(),
            "{text}"
        );
        let inner = serde_json::json!({"name": "transaction", "id": 7, "attempt": 2});
        let outer = serde_json::json!({"name": "listener", "subject": "ticket:created"});
        assert_eq!(warned["span"], inner, "{text}");
        assert_eq!(warned["spans"], serde_json::json!([outer, inner]), "{text}");
        // The line's ids are its own span's, in its parent's trace.
        let [listener, attempt] = ids.map(|traceparent| {
            let parts: Vec<String> = traceparent.split('-').map(str::to_owned).collect();
            (parts[1].clone(), parts[2].clone())
        });
        assert_eq!(warned["trace_id"], listener.0);
        assert_eq!(attempt.0, listener.0);
        assert_eq!(warned["span_id"], attempt.1);
        assert_ne!(attempt.1, listener.1);
        // No message: only the fields.
        assert!(only.get("message").is_none(), "{text}");
        assert_eq!(only["only"], "a field");
        assert_eq!(only["span"], inner);
        assert_eq!(library["target"], "rustls::client");
        assert_eq!(library["level"], "WARN");
        assert_eq!(library["message"], "a library's warning");
    }
}
