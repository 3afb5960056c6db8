//! Percentiles of latency samples.

use serde::{Deserialize, Serialize};

/// The distribution of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples there were.
    pub samples: usize,
    /// The median.
    pub p50_ms: f64,
    /// The 99th percentile.
    pub p99_ms: f64,
    /// The largest sample.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `samples_ms`; `None` when there are none.
    pub fn of(samples_ms: &[f64]) -> Option<Summary> {
        let mut sorted: Vec<f64> = samples_ms
            .iter()
            .copied()
            .filter(|sample| sample.is_finite())
            .collect();
        sorted.sort_by(f64::total_cmp);
        let max_ms = *sorted.last()?;
        Some(Summary {
            samples: sorted.len(),
            p50_ms: percentile(&sorted, 50.0),
            p99_ms: percentile(&sorted, 99.0),
            max_ms,
        })
    }
}

/// The nearest-rank percentile `p` (0–100) of `sorted` (ascending, not empty): the smallest
/// sample that at least `p`% of the samples are less than or equal to.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values` (the lower middle of an even count); `None` when there are none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(percentile(&values, 50.0))
}

/// Shares (1.0 = 100%) as whole percentages, in order: `84%, 82%, 83%`.
pub fn percentages(shares: &[f64]) -> String {
    let shares: Vec<String> = shares
        .iter()
        .map(|share| format!("{:.0}%", share * 100.0))
        .collect();
    shares.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), 50.0);
        assert_eq!(percentile(&hundred, 99.0), 99.0);
        assert_eq!(percentile(&hundred, 100.0), 100.0);
        assert_eq!(percentile(&hundred, 0.0), 1.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 99.0), 10.0);
        assert_eq!(percentile(&ten, 50.0), 5.0);
    }

    #[test]
    fn summaries_sort_and_skip_non_finite_samples() {
        let summary = Summary::of(&[3.0, f64::NAN, 1.0, 2.0]).unwrap();
        assert_eq!(summary.samples, 3);
        assert_eq!(summary.p50_ms, 2.0);
        assert_eq!(summary.p99_ms, 3.0);
        assert_eq!(summary.max_ms, 3.0);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn medians_take_the_lower_middle_of_an_even_count() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![0.9, 0.8]), Some(0.8));
        assert_eq!(median(vec![5.0]), Some(5.0));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn shares_read_as_whole_percentages() {
        assert_eq!(percentages(&[0.844, 0.8, 1.02]), "84%, 80%, 102%");
        assert_eq!(percentages(&[]), "");
    }
}
