//! What the default log level costs: `GET /api/users/currentuser` against two copies of auth
//! ([`Copy`]), one at `RUST_LOG=warn` (the level of the bench's stacks: no line per request)
//! and one at `info` (the default: one line per request), each writing its standard output to a
//! file as a container's is collected. They run in turn, [`ROUNDS`] times; the ratio is the
//! median of each round's info ÷ warn.

use serde::{Deserialize, Serialize};

use crate::scenarios::copy::Copy;
use crate::scenarios::progress;
use crate::scenarios::turns::get_in_turn;
use crate::stats::median;
use crate::target::Stack;

/// Rounds of one run at each level.
const ROUNDS: usize = 9;
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
    let warn = Copy::start(auth, None, &[("RUST_LOG", "warn")], None).await?;
    let info = Copy::start(auth, None, &[("RUST_LOG", "info")], Some(&lines)).await?;
    let urls = [&warn, &info].map(|copy| format!("{}/api/users/currentuser", copy.url()));
    let rates = get_in_turn(
        stack,
        "currentuser-log-level",
        [
            (urls[0].as_str(), user.cookie.as_str()),
            (urls[1].as_str(), user.cookie.as_str()),
        ],
        ROUNDS,
        CONNECTIONS,
    )
    .await;
    warn.stop().await;
    info.stop().await;
    let rates = rates?;
    let written = std::fs::read(&lines).unwrap_or_default();
    let line_count = written.iter().filter(|byte| **byte == b'\n').count();
    let info_requests: f64 = rates
        .iter()
        .map(|[_, info]| info * stack.run_time.as_secs_f64())
        .sum();
    let logging = Logging {
        connections: CONNECTIONS,
        rounds: ROUNDS,
        warn_per_second: median(rates.iter().map(|[warn, _]| *warn).collect()).unwrap_or_default(),
        info_per_second: median(rates.iter().map(|[_, info]| *info).collect()).unwrap_or_default(),
        ratio: median(
            rates
                .iter()
                .map(|[warn, info]| info / warn.max(1.0))
                .collect(),
        )
        .unwrap_or_default(),
        info_lines_per_request: line_count as f64 / info_requests.max(1.0),
    };
    progress(format_args!(
        "currentuser c={CONNECTIONS}: {:.0}/s at warn, {:.0}/s at info ({:.2} of it; {:.2} lines a request)",
        logging.warn_per_second,
        logging.info_per_second,
        logging.ratio,
        logging.info_lines_per_request
    ));
    Ok(logging)
}
