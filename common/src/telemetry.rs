//! Logging set-up: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for one JSON object
//! per line (for a log collector), human-readable lines otherwise.
//!
//! Lines are formatted where they are logged and written to standard output by a thread of
//! their own, in batches: a request's thread never waits on the write, and a burst of lines
//! costs one write rather than one per line. At most `LOG_BUFFER_LINES` (default
//! [`DEFAULT_BUFFER_LINES`]) wait for that thread; past that, logging waits for room rather
//! than dropping a line.

use std::io::BufWriter;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Lines that may wait for the writing thread, by default.
pub const DEFAULT_BUFFER_LINES: usize = 8192;

/// Keeps the writing thread: dropped as the process ends, it writes out every line still
/// waiting. Hold it for the whole of `main`.
#[must_use = "dropping it stops the log writer"]
pub struct Logging {
    _writer: Option<WorkerGuard>,
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
    // Colours only for a person at a terminal: not in files, nor in `cargo xtask up`'s
    // prefixed lines.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(lines)
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::new(std::io::stdout()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_writer(writer);
    let installed = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.compact().with_ansi(ansi).try_init()
    };
    Logging {
        _writer: installed.is_ok().then_some(guard),
    }
}
