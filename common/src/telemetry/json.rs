//! JSON lines: one object per line, for a log collector.
//!
//! ```json
//! {"timestamp":"2026-12-07T14:08:23.367284Z","level":"INFO","target":"common::server::stack",
//!  "trace_id":"4bf9…","span_id":"00f0…","message":"request handled","method":"GET",…,
//!  "span":{"name":"request","method":"GET","path":"/api/orders"},"spans":[{"name":"request",…}]}
//! ```
//!
//! (on one line). The event's fields are at the top level; `span` is the span it was logged in
//! and `spans` every span it is in, outermost first, each with its name and fields; `trace_id`
//! and `span_id` are its span's OpenTelemetry ids, when it is in one.
//!
//! A line is written as it is built, straight into the formatting layer's buffer, with no
//! tree of values in between: the values by serde_json (escaping, numbers), the fields by
//! tracing-serde. A span's fields are written once, when the span is created, and each line
//! logged in it copies them.

use std::fmt;
use std::io;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use serde::ser::Serializer as _;
use tracing::dispatcher::WeakDispatch;
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime as _;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::LineTime;

/// Formats a JSON line ([the module](self)).
pub(super) struct JsonLine {
    /// The subscriber the lines' layer is registered with ([`super::KeepSubscriber`]): the
    /// OpenTelemetry ids are read through it.
    pub(super) subscriber: Arc<OnceLock<WeakDispatch>>,
}

impl<S> FormatEvent<S, SpanFields> for JsonLine
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, SpanFields>,
        mut line: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // A record of the `log` crate, by its own level and target rather than the bridge's.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        line.write_str("{\"timestamp\":\"")?;
        LineTime.format_time(&mut line)?;
        write!(line, "\",\"level\":\"{}\",\"target\":", metadata.level())?;
        value(&mut line, metadata.target())?;
        let span = context.parent_span();
        if let Some((trace_id, span_id)) = span.as_ref().and_then(|span| self.ids(span.id())) {
            write!(
                line,
                ",\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\""
            )?;
        }
        fields(&mut line, event)?;
        if let Some(span) = span {
            line.write_str(",\"span\":")?;
            span_object(&mut line, &span)?;
            line.write_str(",\"spans\":[")?;
            for (index, span) in span.scope().from_root().enumerate() {
                if index > 0 {
                    line.write_char(',')?;
                }
                span_object(&mut line, &span)?;
            }
            line.write_char(']')?;
        }
        line.write_str("}\n")
    }
}

impl JsonLine {
    /// The trace and span ids of the span `id`, when it is an OpenTelemetry span with valid
    /// ones.
    fn ids(
        &self,
        id: tracing::Id,
    ) -> Option<(opentelemetry::trace::TraceId, opentelemetry::trace::SpanId)> {
        let dispatch = self.subscriber.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(&id, &dispatch)?;
        let span = context.span();
        let ids = span.span_context();
        ids.is_valid().then(|| (ids.trace_id(), ids.span_id()))
    }
}

/// Writes `value` as JSON.
fn value(line: &mut Writer<'_>, value: impl serde::Serialize) -> fmt::Result {
    value
        .serialize(&mut serde_json::Serializer::new(Adaptor(line)))
        .map_err(|_| fmt::Error)
}

/// Writes the fields of an event or a span, each as `,"name":value`. Their values are numbers,
/// booleans or text: never an object, so every key is one of theirs.
fn fields(line: &mut Writer<'_>, fields: impl RecordFields) -> fmt::Result {
    let mut serializer = serde_json::Serializer::with_formatter(Adaptor(line), Continued);
    let map = serializer.serialize_map(None).map_err(|_| fmt::Error)?;
    let mut visitor = tracing_serde::SerdeMapVisitor::new(map);
    fields.record(&mut visitor);
    visitor.finish().map_err(|_| fmt::Error)
}

/// A span's fields, written once as it is created (or a field recorded later), as the pairs
/// [`fields`] writes: each line it is in copies them.
pub(super) struct SpanFields;

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut line: Writer<'writer>, span: R) -> fmt::Result {
        fields(&mut line, span)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        recorded: &Record<'_>,
    ) -> fmt::Result {
        fields(&mut current.as_writer(), recorded)
    }
}

/// Writes `{"name":…,…}`: the span's name and its fields.
fn span_object<S>(
    line: &mut Writer<'_>,
    span: &tracing_subscriber::registry::SpanRef<'_, S>,
) -> fmt::Result
where
    S: for<'span> LookupSpan<'span>,
{
    line.write_str("{\"name\":")?;
    value(line, span.name())?;
    if let Some(pairs) = span.extensions().get::<FormattedFields<SpanFields>>() {
        line.write_str(pairs)?;
    }
    line.write_char('}')
}

/// serde_json's compact output for a map whose entries continue an object already begun: no
/// braces, and a comma before every entry.
struct Continued;

impl serde_json::ser::Formatter for Continued {
    fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        _: bool,
    ) -> io::Result<()> {
        writer.write_all(b",")
    }
}

/// serde_json writes bytes; the line is text. serde_json writes whole UTF-8 sequences (a string
/// is split only at the ASCII characters it escapes), so each write is text.
struct Adaptor<'line, 'writer>(&'line mut Writer<'writer>);

impl io::Write for Adaptor<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let text = std::str::from_utf8(bytes).map_err(io::Error::other)?;
        self.0.write_str(text).map_err(io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
