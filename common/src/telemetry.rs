//! Logging set-up: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for one JSON object
//! per line (for a log collector), human-readable lines otherwise.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        // Colours only for a person at a terminal: not in files, nor in `cargo xtask up`'s
        // prefixed lines.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        builder.compact().with_ansi(ansi).try_init()
    };
}
