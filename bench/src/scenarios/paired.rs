//! The paired part of a side-by-side run: a stack of each tree, both running at once on this
//! machine, measured in turn round by round ([`in_turn`]).
//!
//! The other parts of a side-by-side run each start a fresh stack per tree, and a whole part
//! lies between the two trees' figures: the machine drifts by more than a few percent in that
//! time (the bare axum handler, the same binary for both, has moved by a fifth). Measured in
//! turn, each ratio is of two runs seconds apart, so a difference of a few percent, such as
//! what the metrics cost, can be told from the drift:
//!
//! - `GET /api/users/currentuser` direct to each stack's auth, at [`CONNECTIONS`], [`ROUNDS`]
//!   rounds;
//! - `GET /api/tickets` direct to each stack's tickets, listing [`LISTED_TICKETS`], [`ROUNDS`]
//!   rounds;
//! - the purchase pipeline through each stack's ingress, [`PIPELINE_ROUNDS`] rounds of
//!   [`PIPELINE_RUN`] each, after one unmeasured run on each.
//!
//! The stack waiting its turn is idle meanwhile: its servers and services only wait.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::scenarios::http::LISTED_TICKETS;
use crate::scenarios::turns::{get_in_turn, in_turn};
use crate::scenarios::{create_tickets, pipeline, progress, quiet_machine};
use crate::stats::median;
use crate::target::Stack;

/// Rounds of each request at each level.
pub const ROUNDS: usize = 16;
/// The requests' levels (open connections).
pub const CONNECTIONS: [u32; 2] = [16, 64];
/// Rounds of the pipeline, as many as the requests': its rounds vary more than theirs, and
/// its interval has to be narrower than the few percent it is asked to tell.
pub const PIPELINE_ROUNDS: usize = 16;
/// How long each round runs the pipeline on each stack.
pub const PIPELINE_RUN: Duration = Duration::from_secs(8);

/// One figure of both trees, measured in turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// What was measured: a request, or `purchase pipeline`.
    pub what: String,
    /// Its load: open connections, or the pipeline's concurrent purchases.
    pub load: u32,
    /// Rounds, each a run against both.
    pub rounds: usize,
    /// This tree's figure (requests or purchases per second), the median of the rounds.
    pub ours_per_second: f64,
    /// The other tree's figure, the median of the rounds.
    pub theirs_per_second: f64,
    /// The geometric mean of the rounds' ours ÷ theirs.
    pub ratio: f64,
    /// Its 95% confidence interval (the rounds' log ratios taken as normal).
    pub ratio_low: f64,
    /// Its 95% confidence interval.
    pub ratio_high: f64,
}

/// Measures `ours` (this tree's stack) and `theirs` in turn.
pub async fn run(ours: &Stack, theirs: &Stack) -> anyhow::Result<Vec<Paired>> {
    let stacks = [ours, theirs];
    let mut users = Vec::new();
    let mut urls = Vec::new();
    for stack in stacks {
        let api = Api::new(&stack.ingress)?;
        let user = api.sign_up("paired").await?;
        let tickets = stack.service("tickets")?.url();
        create_tickets(&Api::new(&tickets)?, &user, LISTED_TICKETS).await?;
        urls.push([
            format!("{}/api/users/currentuser", stack.service("auth")?.url()),
            format!("{tickets}/api/tickets"),
        ]);
        users.push(user);
    }
    let mut paired = Vec::new();
    for (what, path) in [("GET /api/users/currentuser", 0), ("GET /api/tickets", 1)] {
        for connections in CONNECTIONS {
            let targets =
                [0, 1].map(|side| (urls[side][path].as_str(), users[side].cookie.as_str()));
            let name = format!("paired-{}", what.rsplit('/').next().unwrap_or("request"));
            let rates = get_in_turn(ours, &name, targets, ROUNDS, connections).await?;
            paired.push(reported(summarise(what, connections, &rates)));
        }
    }
    // One unmeasured run on each first: the first purchases of a fresh stack are slower.
    for stack in stacks {
        pipeline::run(stack, Duration::from_secs(2)).await?;
    }
    let rates = in_turn(PIPELINE_ROUNDS, |side| async move {
        quiet_machine("the pipeline").await?;
        Ok(pipeline::run(stacks[side], PIPELINE_RUN).await?.per_second)
    })
    .await?;
    paired.push(reported(summarise(
        "purchase pipeline",
        pipeline::WORKERS as u32,
        &rates,
    )));
    Ok(paired)
}

/// `pair`, after a progress line with its figures.
fn reported(pair: Paired) -> Paired {
    progress(format_args!(
        "{} at {}, in turn: ours {:.1}/s, theirs {:.1}/s, ratio {:.3} (95% CI {:.3}–{:.3})",
        pair.what,
        pair.load,
        pair.ours_per_second,
        pair.theirs_per_second,
        pair.ratio,
        pair.ratio_low,
        pair.ratio_high
    ));
    pair
}

/// The figures of `what` at `load` from `rates` (each round's ours and theirs).
pub fn summarise(what: &str, load: u32, rates: &[[f64; 2]]) -> Paired {
    let logs: Vec<f64> = rates
        .iter()
        .map(|[ours, theirs]| (ours.max(1.0) / theirs.max(1.0)).ln())
        .collect();
    let count = logs.len().max(1) as f64;
    let mean = logs.iter().sum::<f64>() / count;
    let variance =
        logs.iter().map(|log| (log - mean).powi(2)).sum::<f64>() / (count - 1.0).max(1.0);
    let margin = 1.96 * (variance / count).sqrt();
    Paired {
        what: what.to_owned(),
        load,
        rounds: rates.len(),
        ours_per_second: median(rates.iter().map(|[ours, _]| *ours).collect()).unwrap_or_default(),
        theirs_per_second: median(rates.iter().map(|[_, theirs]| *theirs).collect())
            .unwrap_or_default(),
        ratio: mean.exp(),
        ratio_low: (mean - margin).exp(),
        ratio_high: (mean + margin).exp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_the_geometric_mean_with_its_interval() {
        let pair = summarise(
            "GET /",
            16,
            &[[110.0, 100.0], [100.0, 100.0], [90.0, 100.0]],
        );
        assert_eq!(pair.rounds, 3);
        assert_eq!(
            (pair.ours_per_second, pair.theirs_per_second),
            (100.0, 100.0)
        );
        let expected = (1.1_f64.ln() + 0.9_f64.ln()) / 3.0;
        assert!((pair.ratio - expected.exp()).abs() < 1e-12);
        assert!(pair.ratio_low < pair.ratio && pair.ratio < pair.ratio_high);
        let same = summarise("GET /", 16, &[[100.0, 100.0], [200.0, 200.0]]);
        assert_eq!(
            (same.ratio, same.ratio_low, same.ratio_high),
            (1.0, 1.0, 1.0)
        );
    }
}
