//! W3C trace context across the fleet's hops: an HTTP request's `traceparent` header, an
//! outbox record, a NATS message's `traceparent` header. Each hop's span continues the trace
//! of the one before; a missing or malformed `traceparent` starts a new trace.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header (HTTP and NATS alike) that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// `span`'s context as a `traceparent` value, for the next hop; `None` when it has none (no
/// subscriber with the OpenTelemetry layer, as in a test that installs none).
pub fn traceparent(span: &Span) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` (not yet entered) continue the trace of `traceparent`, the previous hop's.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| !span.is_disabled()) else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    // Fails only where no OpenTelemetry layer is installed: nothing to continue then.
    let _ = span.set_parent(context);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    fn with_spans<R>(body: impl FnOnce() -> R) -> R {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, body)
    }

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_span_continues_the_trace_it_is_given_with_an_id_of_its_own() {
        let next = with_spans(|| {
            let span = tracing::info_span!("request");
            continue_trace(&span, Some(INCOMING));
            traceparent(&span)
        })
        .expect("a traceparent");
        let parts: Vec<&str> = next.split('-').collect();
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(parts[2], "00f067aa0ba902b7");
        assert_eq!(parts[2].len(), 16);
    }

    #[test]
    fn a_child_span_keeps_its_parents_trace() {
        let (parent, child) = with_spans(|| {
            let parent = tracing::info_span!("request");
            continue_trace(&parent, Some(INCOMING));
            let child = parent.in_scope(|| traceparent(&tracing::info_span!("transaction")));
            (traceparent(&parent), child)
        });
        let trace = |value: Option<String>| value.unwrap().split('-').nth(1).unwrap().to_owned();
        assert_eq!(trace(parent), trace(child));
    }

    #[test]
    fn no_or_a_malformed_traceparent_starts_a_trace_of_its_own() {
        let (none, malformed) = with_spans(|| {
            let fresh = tracing::info_span!("request");
            continue_trace(&fresh, None);
            let broken = tracing::info_span!("request");
            continue_trace(&broken, Some("00-not-a-trace-01"));
            (traceparent(&fresh), traceparent(&broken))
        });
        let trace = |value: Option<String>| value.unwrap().split('-').nth(1).unwrap().to_owned();
        let (none, malformed) = (trace(none), trace(malformed));
        assert_eq!(none.len(), 32);
        assert_ne!(none, "0".repeat(32));
        assert_ne!(malformed, "0".repeat(32));
        assert_ne!(none, malformed);
    }
}
