//! What the log level costs: `GET /api/users/currentuser` against three copies of auth
//! ([`Copy`]): one at `RUST_LOG=warn` (the level of the bench's stacks: no line per request), one
//! at `info` (the default: one line per request) with text lines (a program's default), and one
//! at `info` with JSON lines (`LOG_FORMAT=json`, what the manifests deploy). Each writes its
//! standard output to a file, as a container's is collected. They run in turn, [`ROUNDS`]
//! times; each ratio is the median of the rounds' info ÷ warn.

use serde::{Deserialize, Serialize};

use crate::scenarios::copy::Copy;
use crate::scenarios::progress;
use crate::scenarios::turns::get_in_turn;
use crate::stats::median;
use crate::target::Stack;

/// Rounds of one run at each level.
const ROUNDS: usize = 7;
/// Open connections.
const CONNECTIONS: u32 = 16;

/// `currentuser` at `warn` and at `info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logging {
    /// Open connections.
    pub connections: u32,
    /// Rounds of one run at each level.
    pub rounds: usize,
    /// Requests per second at `warn`, the median of the rounds.
    pub warn_per_second: f64,
    /// Requests per second at `info`, the median of the rounds.
    pub info_per_second: f64,
    /// The median of the rounds' info ÷ warn.
    pub ratio: f64,
    /// Requests per second at `info` with JSON lines, the median of the rounds (0 in parts
    /// measured before it was).
    #[serde(default)]
    pub json_info_per_second: f64,
    /// The median of the rounds' info with JSON lines ÷ warn.
    #[serde(default)]
    pub json_ratio: f64,
    /// Lines the `info` copy wrote per request it answered: it did log them.
    pub info_lines_per_request: f64,
}

/// Measures `currentuser` signed in as a fresh user, at both levels.
pub async fn run(stack: &Stack) -> anyhow::Result<Logging> {
    let auth = stack.service("auth")?;
    let user = crate::api::Api::new(&stack.ingress)?
        .sign_up("logging")
        .await?;
    let lines = stack.work_dir.join("auth-info.log");
    let json_lines = stack.work_dir.join("auth-info-json.log");
    let text = ("LOG_FORMAT", "text");
    let warn = Copy::start(auth, None, &[("RUST_LOG", "warn"), text], None).await?;
    let info = Copy::start(auth, None, &[("RUST_LOG", "info"), text], Some(&lines)).await?;
    let json = Copy::start(
        auth,
        None,
        &[("RUST_LOG", "info"), ("LOG_FORMAT", "json")],
        Some(&json_lines),
    )
    .await?;
    let urls = [&warn, &info, &json].map(|copy| format!("{}/api/users/currentuser", copy.url()));
    let rates = get_in_turn(
        stack,
        "currentuser-log-level",
        urls.each_ref()
            .map(|url| (url.as_str(), user.cookie.as_str())),
        ROUNDS,
        CONNECTIONS,
    )
    .await;
    warn.stop().await;
    info.stop().await;
    json.stop().await;
    let rates = rates?;
    let written = std::fs::read(&lines).unwrap_or_default();
    let line_count = written.iter().filter(|byte| **byte == b'\n').count();
    let info_requests: f64 = rates
        .iter()
        .map(|[_, info, _]| info * stack.run_time.as_secs_f64())
        .sum();
    // The median over the rounds of `figure`, of one round's rates at warn, info and JSON.
    let median_of = |figure: fn(&[f64; 3]) -> f64| {
        median(rates.iter().map(figure).collect()).unwrap_or_default()
    };
    let logging = Logging {
        connections: CONNECTIONS,
        rounds: ROUNDS,
        warn_per_second: median_of(|[warn, ..]| *warn),
        info_per_second: median_of(|[_, info, _]| *info),
        ratio: median_of(|[warn, info, _]| info / warn.max(1.0)),
        json_info_per_second: median_of(|[.., json]| *json),
        json_ratio: median_of(|[warn, _, json]| json / warn.max(1.0)),
        info_lines_per_request: line_count as f64 / info_requests.max(1.0),
    };
    progress(format_args!(
        "currentuser c={CONNECTIONS}: {:.0}/s at warn, {:.0}/s at info ({:.2} of it; {:.2} lines a request), {:.0}/s at info with JSON lines ({:.2} of it)",
        logging.warn_per_second,
        logging.info_per_second,
        logging.ratio,
        logging.info_lines_per_request,
        logging.json_info_per_second,
        logging.json_ratio
    ));
    Ok(logging)
}
