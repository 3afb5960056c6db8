//! The database work of one purchase: purchases made one after another (create a ticket, order
//! it, pay, wait until the order is complete, so every event it caused has been handled), the
//! MongoDB commands each service sent meanwhile (`mongodb_commands_total` on its metrics port,
//! which a service counts when started with `MONGO_COMMAND_METRICS=true`) and the database
//! server's CPU, per purchase. What the services do on their own meanwhile
//! (relays, reconciler) is measured idle first and taken off. Counts, not timings, so a change
//! to the write path shows at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::api::{Api, User};
use crate::cpu::Meter;
use crate::scenarios::progress;
use crate::target::{Service, Stack};

/// Purchases measured.
const PURCHASES: u64 = 40;
/// How long the services' own work is measured, idle.
const IDLE: Duration = Duration::from_secs(3);

/// The database work of a purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbWork {
    /// Purchases measured.
    pub purchases: u64,
    /// Commands per purchase, by service and command, most first.
    pub commands: Vec<Commands>,
    /// All commands of a purchase.
    pub total: f64,
    /// The database server's CPU per purchase, in microseconds.
    pub database_cpu_us: f64,
}

/// One service's commands of one name, per purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    /// The service that sent them.
    pub service: String,
    /// E.g. `insert`, `update`, `commitTransaction`.
    pub command: String,
    /// How many per purchase (idle work taken off).
    pub per_purchase: f64,
}

/// Measures [`PURCHASES`] purchases as `seller` and `buyer`; `None` when the services count no
/// commands (a tree from before they did).
pub async fn run(
    stack: &Stack,
    api: &Api,
    seller: &User,
    buyer: &User,
) -> anyhow::Result<Option<DbWork>> {
    let http = reqwest::Client::new();
    // xtask gives every service a metrics port; one from before the services served metrics
    // leaves it closed.
    let mut services: Vec<&Service> = Vec::new();
    for service in &stack.services {
        if let Some(port) = service.metrics_port {
            let url = format!("http://127.0.0.1:{port}/metrics");
            if http.get(url).send().await.is_ok() {
                services.push(service);
            }
        }
    }
    if services.is_empty() {
        return Ok(None);
    }
    let idle_start = counts(&http, &services).await?;
    tokio::time::sleep(IDLE).await;
    let idle = delta(&counts(&http, &services).await?, &idle_start);

    let before = counts(&http, &services).await?;
    let meter = Meter::start(stack, &[], None);
    let started = Instant::now();
    for _ in 0..PURCHASES {
        let ticket = api.create_ticket(seller, 20.0).await?;
        let order = api.order(buyer, &ticket.id).await?;
        api.pay(buyer, &order.id).await?;
        while api.get_order(buyer, &order.id).await?.status != "complete" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let elapsed = started.elapsed();
    let cpu = meter.stop();
    let during = delta(&counts(&http, &services).await?, &before);
    if during.is_empty() {
        return Ok(None);
    }

    let idle_share = elapsed.as_secs_f64() / IDLE.as_secs_f64();
    let purchases = PURCHASES as f64;
    let mut commands: Vec<Commands> = during
        .into_iter()
        .map(|((service, command), count)| {
            let own = idle.get(&(service.clone(), command.clone())).copied();
            let per_purchase = (count - own.unwrap_or_default() * idle_share).max(0.0) / purchases;
            Commands {
                service,
                command,
                per_purchase,
            }
        })
        .filter(|commands| commands.per_purchase >= 0.05)
        .collect();
    commands.sort_by(|a, b| b.per_purchase.total_cmp(&a.per_purchase));
    let database = cpu
        .iter()
        .find(|process| process.name == "mongo")
        .map_or(0.0, |process| process.percent);
    let work = DbWork {
        purchases: PURCHASES,
        total: commands.iter().map(|commands| commands.per_purchase).sum(),
        database_cpu_us: database / 100.0 * elapsed.as_secs_f64() * 1e6 / purchases,
        commands,
    };
    progress(format_args!(
        "database work: {:.1} commands and {:.0} µs of database CPU per purchase",
        work.total, work.database_cpu_us
    ));
    Ok(Some(work))
}

/// Each service's succeeded commands so far, by (service, command).
async fn counts(
    http: &reqwest::Client,
    services: &[&Service],
) -> anyhow::Result<BTreeMap<(String, String), f64>> {
    let mut counts = BTreeMap::new();
    for service in services {
        let port = service.metrics_port.unwrap_or_default();
        let text = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("reading {}'s metrics", service.name))?
            .text()
            .await?;
        for (command, count) in commands_of(&text) {
            counts.insert((service.name.clone(), command), count);
        }
    }
    Ok(counts)
}

/// The `mongodb_commands_total` samples of succeeded commands in Prometheus' text format.
fn commands_of(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| {
            let labels = line.strip_prefix("mongodb_commands_total{")?;
            let (labels, value) = labels.rsplit_once("} ")?;
            if !labels.contains(r#"outcome="succeeded""#) {
                return None;
            }
            let command = labels.split(r#"command=""#).nth(1)?.split('"').next()?;
            Some((command.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// `after - before`, per key.
fn delta(
    after: &BTreeMap<(String, String), f64>,
    before: &BTreeMap<(String, String), f64>,
) -> BTreeMap<(String, String), f64> {
    after
        .iter()
        .map(|(key, count)| {
            let earlier = before.get(key).copied().unwrap_or_default();
            (key.clone(), count - earlier)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_succeeded_commands() {
        let text = "# TYPE mongodb_commands_total counter\n\
            mongodb_commands_total{command=\"insert\",outcome=\"succeeded\"} 12\n\
            mongodb_commands_total{command=\"insert\",outcome=\"failed\"} 1\n\
            mongodb_commands_total{command=\"commitTransaction\",outcome=\"succeeded\"} 3\n\
            http_requests_total{route=\"/x\"} 9\n";
        assert_eq!(
            commands_of(text),
            [
                ("insert".to_owned(), 12.0),
                ("commitTransaction".to_owned(), 3.0)
            ]
        );
    }
}
