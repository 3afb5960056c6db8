//! The benchmark's targets, checked against a run's figures.

use super::{Check, StackResults};
use crate::scenarios::expiration::Expiration;
use crate::scenarios::http::{HttpResult, Via};

/// The best rate among `results` for `endpoint` `via` (any level).
fn best<'a>(results: &'a [HttpResult], endpoint: &str, via: Via) -> Option<&'a HttpResult> {
    results
        .iter()
        .filter(|result| result.endpoint == endpoint && result.via == via)
        .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
}

/// Checks the benchmark's targets against `stack` and `expiration`.
pub fn checks(stack: &StackResults, expiration: &Expiration) -> Vec<Check> {
    let mut checks = Vec::new();
    let currentuser = best(&stack.http, "GET /api/users/currentuser", Via::Direct);
    let hello = stack
        .hello
        .iter()
        .max_by(|a, b| a.per_second.total_cmp(&b.per_second));
    if let (Some(currentuser), Some(hello)) = (currentuser, hello) {
        let share = currentuser.per_second / hello.per_second;
        checks.push(Check {
            what: "currentuser vs bare axum (best level, direct)".to_owned(),
            target: "≥ 50%".to_owned(),
            measured: format!(
                "{:.0}% ({:.0}/s vs {:.0}/s)",
                share * 100.0,
                currentuser.per_second,
                hello.per_second
            ),
            met: share >= 0.5,
        });
    }
    if let Some(logging) = &stack.logging {
        checks.push(Check {
            what: format!(
                "currentuser at info (a line per request) vs at warn (c={}, median of {} rounds)",
                logging.connections, logging.rounds
            ),
            target: "≥ 90%".to_owned(),
            measured: format!(
                "{:.0}% ({:.0}/s vs {:.0}/s)",
                logging.ratio * 100.0,
                logging.info_per_second,
                logging.warn_per_second
            ),
            met: logging.ratio >= 0.9,
        });
        checks.push(Check {
            what: format!(
                "currentuser at info with JSON lines (as deployed) vs at warn (c={}, median of {} rounds)",
                logging.connections, logging.rounds
            ),
            target: "≥ 90%".to_owned(),
            measured: format!(
                "{:.0}% ({:.0}/s vs {:.0}/s)",
                logging.json_ratio * 100.0,
                logging.json_info_per_second,
                logging.warn_per_second
            ),
            met: logging.json_ratio >= 0.9,
        });
    }
    let create_ticket = stack.http.iter().find(|result| {
        result.endpoint == "POST /api/tickets"
            && result.via == Via::Direct
            && result.connections == 16
    });
    if let Some(database_us) = create_ticket.and_then(|result| result.database_cpu_us) {
        checks.push(Check {
            what: "database CPU per POST /api/tickets (direct, c=16, its event published)"
                .to_owned(),
            target: "≤ 200 µs".to_owned(),
            measured: format!("{database_us:.0} µs"),
            met: database_us <= 200.0,
        });
    }
    if let Some(share) = stack.signin.median_share() {
        checks.push(Check {
            what: "signin vs scrypt ceiling (storm, direct)".to_owned(),
            target: "≥ 90%".to_owned(),
            measured: format!(
                "{:.0}% (median of {} storms: {})",
                share * 100.0,
                stack.signin.storms.len(),
                stack.signin.shares_in_percent()
            ),
            met: share >= 0.9,
        });
    }
    if let Some(worst) = stack.signin.worst_currentuser() {
        let p99 = worst.currentuser.wrk.p99_us as f64 / 1000.0;
        checks.push(Check {
            what: "currentuser p99 during the sign-in storm".to_owned(),
            target: "< 10 ms".to_owned(),
            measured: format!("{p99:.2} ms (worst storm)"),
            met: p99 < 10.0,
        });
    }
    if let Some(light) = stack
        .propagation
        .iter()
        .find(|result| result.load == "light")
    {
        let worst = [
            ("ticket:created", light.ticket_created),
            ("order:created", light.order_created),
            ("order:cancelled", light.order_cancelled),
            ("ticket:updated", light.ticket_updated),
        ]
        .into_iter()
        .max_by(|a, b| a.1.p99_ms.total_cmp(&b.1.p99_ms));
        if let Some((subject, summary)) = worst {
            checks.push(Check {
                what: "event propagation p99, light load (worst event)".to_owned(),
                target: "< 25 ms".to_owned(),
                measured: format!("{:.1} ms ({subject})", summary.p99_ms),
                met: summary.p99_ms < 25.0,
            });
        }
    }
    if let Some(cancelled) = &expiration.cancelled {
        checks.push(Check {
            what: format!("expiration lateness p99 ({} orders)", expiration.orders),
            target: "< 1 s".to_owned(),
            measured: format!(
                "{:.0} ms ({} never cancelled)",
                cancelled.p99_ms, expiration.missing
            ),
            met: cancelled.p99_ms < 1000.0 && expiration.missing == 0 && expiration.orders >= 1000,
        });
    }
    if let Some(fattest) = stack
        .footprint
        .iter()
        .max_by_key(|footprint| footprint.idle_rss_kib)
    {
        let mb = fattest.idle_rss_kib as f64 / 1024.0;
        checks.push(Check {
            what: "idle RSS per service (largest)".to_owned(),
            target: "< 20 MB".to_owned(),
            measured: format!("{mb:.1} MB ({})", fattest.service),
            met: mb < 20.0,
        });
    }
    if let Some(slowest) = stack
        .footprint
        .iter()
        .max_by(|a, b| a.start_to_ready_ms.total_cmp(&b.start_to_ready_ms))
    {
        checks.push(Check {
            what: "start to ready per service (slowest, median of 3)".to_owned(),
            target: "< 300 ms".to_owned(),
            measured: format!("{:.0} ms ({})", slowest.start_to_ready_ms, slowest.service),
            met: slowest.start_to_ready_ms < 300.0,
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use crate::fixtures::report;

    #[test]
    fn targets_are_checked_against_the_right_figures() {
        let report = report();
        let check = |what: &str| {
            report
                .checks
                .iter()
                .find(|check| check.what.starts_with(what))
                .unwrap_or_else(|| panic!("no check {what}"))
        };
        // 12,000 of 30,000: 40%, below half.
        assert!(!check("currentuser vs bare axum").met);
        assert!(
            check("currentuser vs bare axum")
                .measured
                .starts_with("40%")
        );
        // The median storm, 80% of the mean of its two ceilings, counts; not the best, 102%.
        assert!(!check("signin vs scrypt").met);
        assert_eq!(
            check("signin vs scrypt").measured,
            "80% (median of 3 storms: 102%, 80%, 80%)"
        );
        // The worst storm's p99 counts: 12 ms.
        assert!(!check("currentuser p99 during").met);
        assert_eq!(
            check("currentuser p99 during").measured,
            "12.00 ms (worst storm)"
        );
        // The light-load figure counts, not the heavy one.
        assert!(check("event propagation").met);
        assert!(check("expiration lateness").met);
        assert!(!check("idle RSS").met);
        assert!(check("start to ready").met);
        // The write's database CPU, 250 µs, against at most 200.
        assert!(!check("database CPU per POST /api/tickets").met);
        assert_eq!(
            check("database CPU per POST /api/tickets").measured,
            "250 µs"
        );
        // 17,000 of 20,000 at info: 85%.
        assert!(!check("currentuser at info").met);
        assert_eq!(
            check("currentuser at info").measured,
            "85% (17000/s vs 20000/s)"
        );
        // 14,000 of 20,000 with JSON lines: 70%.
        assert!(!check("currentuser at info with JSON lines").met);
        assert_eq!(
            check("currentuser at info with JSON lines").measured,
            "70% (14000/s vs 20000/s)"
        );
        assert_eq!(report.checks.len(), 10);
    }
}
