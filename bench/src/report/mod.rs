//! The results of a run: what each part measured, and the targets checked against them.
//!
//! Layout:
//! - here: the results as `bench/results/<date>.json` holds them;
//! - `parts`: what each stack of a run measures, and joining them ([`parts::read`]);
//! - `checks`: the targets, checked against the figures ([`checks`]);
//! - `markdown`: the summary `bench/results/<date>.md` and the targets table ([`markdown`],
//!   [`targets_table`]);
//! - `side_by_side`: the headline figures of two trees from one run, as ratios.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::scenarios::catalogue::CataloguePage;
use crate::scenarios::ceilings::Signin;
use crate::scenarios::expiration::Expiration;
use crate::scenarios::footprint::Footprint;
use crate::scenarios::http::HttpResult;
use crate::scenarios::pipeline::Pipeline;
use crate::scenarios::propagation::Propagation;
use crate::scenarios::publish::Publish;

mod checks;
mod markdown;
pub mod parts;
mod side_by_side;

pub use checks::checks;
pub use markdown::{markdown, targets_table};

/// What a run measures of one tree, its parts joined (see [`parts`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackResults {
    /// Each endpoint at each level, direct and through the ingress.
    pub http: Vec<HttpResult>,
    /// A page of the catalogue at 100 and at 100,000 tickets (none in reports from before it
    /// was measured).
    #[serde(default)]
    pub catalogue: Vec<CataloguePage>,
    /// The bare axum handler at each level.
    pub hello: Vec<HttpResult>,
    /// `currentuser` with a log line per request and without (none in reports from before it
    /// was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<crate::scenarios::logging::Logging>,
    /// In a side-by-side run, both trees measured in turn, a stack of each running (none
    /// otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paired: Vec<crate::scenarios::paired::Paired>,
    /// Sign-in storms between scrypt ceilings, `currentuser` meanwhile.
    pub signin: Signin,
    /// Event propagation at light and heavy load.
    pub propagation: Vec<Propagation>,
    /// Publish to acknowledgement on the bus (none in reports from before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,
    /// The same bus figures on a three-node NATS cluster (none when not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<parts::ClusterPart>,
    /// The purchase pipeline.
    pub pipeline: Pipeline,
    /// Each service's footprint.
    pub footprint: Vec<Footprint>,
}

/// How long the run took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Building the release binaries, in seconds.
    pub build_seconds: f64,
    /// The whole `cargo xtask bench`, up to writing the report, in seconds.
    pub total_seconds: f64,
}

/// One of the benchmark's targets, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is measured.
    pub what: String,
    /// The target, in words.
    pub target: String,
    /// What was measured, in words.
    pub measured: String,
    /// Whether the target is met.
    pub met: bool,
}

/// A whole run: `bench/results/<date>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The day of the run (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// What it ran on.
    pub machine: Machine,
    /// The commands that produced it.
    pub commands: Vec<String>,
    /// How long it took.
    pub timings: Timings,
    /// The measurements on the main stack.
    pub stack: StackResults,
    /// The expiration measurement on its own stack.
    pub expiration: Expiration,
    /// The targets.
    pub checks: Vec<Check>,
    /// The other tree of a side-by-side run (`cargo xtask bench --against <rev>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<Against>,
}

/// The tree a run measured beside this one, stack for stack, alternately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Against {
    /// The revision as given, and the commit it named.
    pub rev: String,
    /// What its stacks measured.
    pub stack: StackResults,
    /// Its expiration measurement.
    pub expiration: Expiration,
}
