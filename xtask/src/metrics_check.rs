//! The e2e run's check of the metrics, against the same local stack as the browser test:
//! Prometheus scrapes every running service (`up == 1` for each, polled until the first scrape)
//! and evaluates every alert rule without an error, and no path through the ingress serves
//! metrics (they are on a port of their own, which no route leads to).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use devservers::routes::ROUTES;

use crate::console;
use crate::prometheus::{self, SCRAPE_INTERVAL_SECONDS};
use crate::up::Stack;

/// How long the first scrapes and rule evaluations may take to show: a few scrape intervals.
const FIRST_SCRAPE: Duration = Duration::from_secs(6 * SCRAPE_INTERVAL_SECONDS);

/// Checks that Prometheus scrapes every service of `stack` and evaluates its rules, and that the
/// ingress on `ingress_port` serves no metrics.
pub(crate) fn run(stack: &Stack, ingress_port: u16) -> anyhow::Result<()> {
    let port = stack
        .prometheus_port()
        .context("the stack runs no Prometheus")?;
    console::step(format_args!(
        "metrics: Prometheus (http://127.0.0.1:{port}) scrapes every service; the ingress serves \
         none"
    ));
    every_service_is_up(port, &stack.service_names())?;
    every_rule_evaluates(port)?;
    the_ingress_serves_no_metrics(ingress_port)
}

/// Polls `up` until it is 1 for each of `services` (their `service` label), for at most
/// [`FIRST_SCRAPE`].
fn every_service_is_up(port: u16, services: &[&str]) -> anyhow::Result<()> {
    let deadline = Instant::now() + FIRST_SCRAPE;
    loop {
        let up: BTreeMap<String, String> = prometheus::query(port, "up")?
            .into_iter()
            .filter_map(|(mut labels, value)| Some((labels.remove("service")?, value)))
            .collect();
        let not_up: Vec<String> = services
            .iter()
            .filter(|service| up.get(**service).map(String::as_str) != Some("1"))
            .map(|service| format!("{service} (up = {:?})", up.get(*service)))
            .collect();
        if not_up.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "Prometheus does not scrape {} after {FIRST_SCRAPE:?}",
                not_up.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Fails naming each alert rule whose last evaluation failed; polls until every rule has been
/// evaluated once, for at most [`FIRST_SCRAPE`].
fn every_rule_evaluates(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + FIRST_SCRAPE;
    loop {
        let rules = prometheus::rules(port)?;
        if rules.is_empty() {
            bail!("Prometheus loaded no alert rules");
        }
        let failing: Vec<String> = rules
            .iter()
            .filter(|rule| rule.health == "err")
            .map(|rule| format!("{}: {}", rule.name, rule.last_error))
            .collect();
        if !failing.is_empty() {
            bail!("alert rules fail to evaluate: {}", failing.join("; "));
        }
        if rules.iter().all(|rule| rule.health == "ok") {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("Prometheus has not evaluated every alert rule after {FIRST_SCRAPE:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `GET /metrics`, and `/metrics` under each route's prefix, through the ingress: each answers
/// a 4xx (the client's 404 page, a service's 404 envelope), never the Prometheus text format.
fn the_ingress_serves_no_metrics(ingress_port: u16) -> anyhow::Result<()> {
    for route in ROUTES {
        let path = format!("{}/metrics", route.prefix());
        let (status, body) = crate::http::get(ingress_port, &path)
            .with_context(|| format!("the ingress did not answer GET {path}"))?;
        if !(400..500).contains(&status) || is_prometheus_text(&body) {
            bail!(
                "the ingress answered GET {path} with {status}: metrics must not be reachable \
                 through it ({})",
                body.lines().next().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Whether `body` looks like the Prometheus text format: `# HELP` or `# TYPE` lines.
fn is_prometheus_text(body: &str) -> bool {
    body.lines()
        .any(|line| line.starts_with("# HELP ") || line.starts_with("# TYPE "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prometheus_text_format_is_told_from_a_404_page() {
        assert!(is_prometheus_text(
            "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n"
        ));
        assert!(!is_prometheus_text(
            r#"{"errors":[{"message":"Not Found"}]}"#
        ));
        assert!(!is_prometheus_text("<!doctype html><h1>Not Found</h1>"));
    }
}
