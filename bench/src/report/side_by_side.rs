//! The headline figures of two trees measured in one run, as ratios.
//!
//! `cargo xtask bench --against <rev>` runs each part for this tree and for the other one in
//! turn, on fresh stacks, so the machine's drift over the run falls on both alike. A claim of
//! "faster" is then a ratio from one run, not a comparison of two days.

use std::fmt::Write as _;

use super::{Against, StackResults};
use crate::scenarios::expiration::Expiration;
use crate::scenarios::http::Via;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One figure of one tree.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    what: String,
    unit: &'static str,
    better: Better,
    value: f64,
}

/// A ratio this far from 1 either way is called a change; closer, the runs' noise.
const NOISE: f64 = 0.10;

/// The figures compared, in the report's order.
fn figures(stack: &StackResults, expiration: &Expiration) -> Vec<Figure> {
    let mut figures = Vec::new();
    let mut add = |what: String, unit, better, value| {
        figures.push(Figure {
            what,
            unit,
            better,
            value,
        });
    };
    for result in stack.http.iter().filter(|result| result.via == Via::Direct) {
        add(
            format!("{}, direct, c={}", result.endpoint, result.connections),
            "req/s",
            Better::Higher,
            result.per_second,
        );
    }
    for result in stack.http.iter().filter(|result| {
        result.via == Via::Direct
            && result.endpoint.starts_with("POST ")
            && result.connections == 16
    }) {
        if let Some(database_us) = result.database_cpu_us {
            add(
                format!("{}, direct, c=16: database CPU", result.endpoint),
                "µs/req",
                Better::Lower,
                database_us,
            );
        }
    }
    for page in &stack.catalogue {
        add(
            format!("{} at {} tickets", page.http.endpoint, page.catalogue),
            "req/s",
            Better::Higher,
            page.http.per_second,
        );
    }
    if let Some(logging) = &stack.logging {
        add(
            format!("currentuser at info vs at warn, c={}", logging.connections),
            "%",
            Better::Higher,
            logging.ratio * 100.0,
        );
        add(
            format!(
                "currentuser at info with JSON lines vs at warn, c={}",
                logging.connections
            ),
            "%",
            Better::Higher,
            logging.json_ratio * 100.0,
        );
    }
    if let Some(share) = stack.signin.median_share() {
        add(
            "sign-in vs the scrypt ceiling (median storm)".to_owned(),
            "%",
            Better::Higher,
            share * 100.0,
        );
    }
    for propagation in &stack.propagation {
        let worst = [
            propagation.ticket_created.p99_ms,
            propagation.order_created.p99_ms,
            propagation.order_cancelled.p99_ms,
            propagation.ticket_updated.p99_ms,
        ]
        .into_iter()
        .fold(0.0, f64::max);
        add(
            format!("propagation p99, {} load (worst event)", propagation.load),
            "ms",
            Better::Lower,
            worst,
        );
    }
    if let Some(publish) = &stack.publish {
        add(
            "publish → acknowledged p99".to_owned(),
            "ms",
            Better::Lower,
            publish.latency.p99_ms,
        );
    }
    add(
        "purchase pipeline".to_owned(),
        "purchases/s",
        Better::Higher,
        stack.pipeline.per_second,
    );
    if let Some(cancelled) = &expiration.cancelled {
        add(
            "expiration lateness p99".to_owned(),
            "ms",
            Better::Lower,
            cancelled.p99_ms,
        );
    }
    for footprint in &stack.footprint {
        add(
            format!("idle RSS, {}", footprint.service),
            "MB",
            Better::Lower,
            footprint.idle_rss_kib as f64 / 1024.0,
        );
    }
    for footprint in &stack.footprint {
        add(
            format!("start → ready, {}", footprint.service),
            "ms",
            Better::Lower,
            footprint.start_to_ready_ms,
        );
    }
    figures
}

/// What a ratio of `ours` to `theirs` says, for a figure that is better `better`.
fn verdict(ratio: f64, better: Better) -> &'static str {
    if !ratio.is_finite() || (ratio - 1.0).abs() < NOISE {
        return "≈";
    }
    match (ratio > 1.0, better) {
        (true, Better::Higher) | (false, Better::Lower) => "better",
        _ => "worse",
    }
}

/// The section comparing this tree (`stack`, `expiration`) with `against`.
pub(super) fn section(
    md: &mut String,
    stack: &StackResults,
    expiration: &Expiration,
    against: &Against,
) {
    let theirs = figures(&against.stack, &against.expiration);
    let _ = writeln!(
        md,
        "\n## Side by side with {}\n\n\
         Each part ran for both trees in turn, on fresh stacks, in one run. The ratio is this \
         tree's figure over the other's; \"better\" or \"worse\" when it is more than {:.0}% \
         from 1, \"≈\" within.\n\n\
         | figure | unit | this tree | {} | ratio | |\n|---|---|---:|---:|---:|---|",
        against.rev,
        NOISE * 100.0,
        against.rev,
    );
    for ours in figures(stack, expiration) {
        let Some(other) = theirs.iter().find(|figure| figure.what == ours.what) else {
            continue;
        };
        let ratio = ours.value / other.value;
        // Nothing to compare when the other tree measured 0 (a run that answered nothing).
        let shown = if ratio.is_finite() {
            format!("{ratio:.2}")
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {:.1} | {shown} | {} |",
            ours.what,
            ours.unit,
            ours.value,
            other.value,
            verdict(ratio, ours.better),
        );
    }
    if !stack.paired.is_empty() {
        let _ = writeln!(
            md,
            "\n**In turn** (`scenarios/paired.rs`): a stack of each tree running at once, each \
             figure measured on both round by round, which goes first alternating. The ratio is \
             the geometric mean of the rounds' ratios, with its 95% confidence interval: the \
             figure to quote for a difference of a few percent.\n\n\
             | figure | load | rounds | this tree, /s | {}, /s | ratio | 95% CI |\n\
             |---|---:|---:|---:|---:|---:|---|",
            against.rev,
        );
        for pair in &stack.paired {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.1} | {:.3} | {:.3}–{:.3} |",
                pair.what,
                pair.load,
                pair.rounds,
                pair.ours_per_second,
                pair.theirs_per_second,
                pair.ratio,
                pair.ratio_low,
                pair.ratio_high
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::report;

    #[test]
    fn a_ratio_is_better_or_worse_in_the_figures_direction_beyond_the_noise() {
        assert_eq!(verdict(1.5, Better::Higher), "better");
        assert_eq!(verdict(1.5, Better::Lower), "worse");
        assert_eq!(verdict(0.5, Better::Higher), "worse");
        assert_eq!(verdict(0.5, Better::Lower), "better");
        assert_eq!(verdict(1.05, Better::Higher), "≈");
        assert_eq!(verdict(0.95, Better::Lower), "≈");
        assert_eq!(verdict(f64::NAN, Better::Lower), "≈");
    }

    #[test]
    fn the_section_pairs_each_figure_with_the_other_trees() {
        let ours = report();
        let mut theirs = report().stack;
        theirs.pipeline.per_second = ours.stack.pipeline.per_second / 2.0;
        let against = Against {
            rev: "b8acab1".to_owned(),
            stack: theirs,
            expiration: ours.expiration.clone(),
        };
        let mut md = String::new();
        section(&mut md, &ours.stack, &ours.expiration, &against);
        assert!(md.contains("## Side by side with b8acab1"), "{md}");
        let pipeline = md
            .lines()
            .find(|line| line.starts_with("| purchase pipeline |"))
            .unwrap_or_else(|| panic!("no pipeline row in {md}"));
        assert!(pipeline.ends_with("| 2.00 | better |"), "{pipeline}");
        let currentuser = md
            .lines()
            .find(|line| line.starts_with("| GET /api/users/currentuser, direct, c=16 |"))
            .unwrap_or_else(|| panic!("no currentuser row in {md}"));
        assert!(currentuser.ends_with("| 1.00 | ≈ |"), "{currentuser}");
        // A figure both trees measured as 0 has no ratio.
        let mut zero = report();
        zero.stack.pipeline.per_second = 0.0;
        let against = Against {
            rev: "b8acab1".to_owned(),
            stack: zero.stack.clone(),
            expiration: zero.expiration.clone(),
        };
        let mut md_zero = String::new();
        section(&mut md_zero, &zero.stack, &zero.expiration, &against);
        assert!(
            md_zero.contains("| purchase pipeline | purchases/s | 0.0 | 0.0 | – | ≈ |"),
            "{md_zero}"
        );
        // Through the ingress is the same work with nginx in front: not a headline.
        assert!(!md.contains("currentuser, ingress"));
        // The figures measured in turn, with their intervals.
        for row in [
            "| GET /api/users/currentuser | 16 | 3 | 29000.0 | 30000.0 | 0.970 | 0.960–0.980 |",
            "| purchase pipeline | 16 | 3 | 101.0 | 100.0 | 1.010 | 0.990–1.030 |",
        ] {
            assert!(md.contains(row), "{row} not in {md}");
        }
        assert!(
            md.contains("| currentuser at info vs at warn, c=16 | % | 85.0 | 85.0 | 1.00 | ≈ |"),
            "{md}"
        );
    }
}
