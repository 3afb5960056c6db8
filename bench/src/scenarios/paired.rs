//! This tree's auth against the other tree's in one stack, in a side-by-side run: both builds
//! started as [`Copy`]s of the stack's auth (the same settings, servers and machine), and
//! `GET /api/users/currentuser` measured against each in turn, [`ROUNDS`] times at each level.
//!
//! The parts of a side-by-side run each start a fresh stack per tree, and a whole part lies
//! between the two trees' figures: the machine drifts by more than a few percent in that time
//! (the bare axum handler, the same binary for both, has moved by a fifth). Measured in turn
//! within one stack, each ratio is of two runs seconds apart, so a difference of a few percent,
//! such as what the metrics cost, can be told from the drift.

use serde::{Deserialize, Serialize};

use crate::scenarios::copy::{Copy, currentuser_in_turn};
use crate::scenarios::progress;
use crate::stats::median;
use crate::target::Stack;

/// Rounds at each level.
const ROUNDS: usize = 12;
/// The levels (open connections).
const CONNECTIONS: [u32; 2] = [16, 64];

/// `currentuser` on this tree's auth and the other's, at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Open connections.
    pub connections: u32,
    /// Rounds, each a run against both.
    pub rounds: usize,
    /// This tree's requests per second, the median of the rounds.
    pub ours_per_second: f64,
    /// The other tree's requests per second, the median of the rounds.
    pub theirs_per_second: f64,
    /// The geometric mean of the rounds' ours ÷ theirs.
    pub ratio: f64,
    /// Its 95% confidence interval (the rounds' log ratios taken as normal).
    pub ratio_low: f64,
    /// Its 95% confidence interval.
    pub ratio_high: f64,
}

/// Measures both builds when the stack knows the other tree's auth; none otherwise.
pub async fn run(stack: &Stack) -> anyhow::Result<Vec<Paired>> {
    let Some(other) = &stack.other_auth else {
        return Ok(Vec::new());
    };
    let auth = stack.service("auth")?;
    let user = crate::api::Api::new(&stack.ingress)?
        .sign_up("paired")
        .await?;
    let ours = Copy::start(auth, None, &[], None).await?;
    let theirs = Copy::start(auth, Some(other), &[], None).await?;
    let measured = async {
        let mut paired = Vec::new();
        for connections in CONNECTIONS {
            let rates = currentuser_in_turn(
                stack,
                "paired",
                [&ours, &theirs],
                &user.cookie,
                ROUNDS,
                connections,
            )
            .await?;
            let pair = summarise(connections, &rates);
            progress(format_args!(
                "currentuser c={connections}, in one stack: ours {:.0}/s, theirs {:.0}/s, ratio {:.3} (95% CI {:.3}–{:.3})",
                pair.ours_per_second,
                pair.theirs_per_second,
                pair.ratio,
                pair.ratio_low,
                pair.ratio_high
            ));
            paired.push(pair);
        }
        anyhow::Ok(paired)
    }
    .await;
    // Stopped whether or not the measuring failed, as in the logging scenario.
    ours.stop().await;
    theirs.stop().await;
    measured
}

/// The figures of `rates` (each round's ours and theirs).
pub fn summarise(connections: u32, rates: &[[f64; 2]]) -> Paired {
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
        connections,
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
        let pair = summarise(16, &[[110.0, 100.0], [100.0, 100.0], [90.0, 100.0]]);
        assert_eq!(pair.rounds, 3);
        assert_eq!(
            (pair.ours_per_second, pair.theirs_per_second),
            (100.0, 100.0)
        );
        let expected = (1.1_f64.ln() + 0.9_f64.ln()) / 3.0;
        assert!((pair.ratio - expected.exp()).abs() < 1e-12);
        assert!(pair.ratio_low < pair.ratio && pair.ratio < pair.ratio_high);
        let same = summarise(16, &[[100.0, 100.0], [200.0, 200.0]]);
        assert_eq!(
            (same.ratio, same.ratio_low, same.ratio_high),
            (1.0, 1.0, 1.0)
        );
    }
}
