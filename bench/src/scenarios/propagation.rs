//! Event propagation, seen through the API: how long after one service answered does another
//! service show the change. Light load: one probe at a time on an idle stack. Heavy load: the
//! same while one wrk reads tickets as fast as it can (the CPU saturated) and another creates
//! tickets, each an event for orders, at a bounded pace (an unbounded stream of events would
//! only measure how long a backlog grows).
//!
//! Each probe, direct to the services' ports, polling back to back:
//! 1. `POST /api/tickets` → orders accepts an order for it (`ticket:created`);
//! 2. `POST /api/orders` → tickets shows its `orderId` (`order:created`);
//! 3. `DELETE /api/orders/:id` → tickets shows no `orderId` (`order:cancelled`);
//! 4. `PUT /api/tickets/:id` → orders' replica has the new version, seen in the cancelled order
//!    (`ticket:updated`).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, User};
use crate::scenarios::progress;
use crate::stats::Summary;
use crate::target::Stack;
use crate::wrk::{self, Body, Run};

/// Probes at light load.
const LIGHT_SAMPLES: usize = 200;
/// Probes under heavy load.
const HEAVY_SAMPLES: usize = 100;
/// Connections reading tickets meanwhile, unpaced.
const READ_CONNECTIONS: u32 = 16;
/// Connections creating tickets meanwhile, each waiting [`WRITE_DELAY_MS`] between requests.
const WRITE_CONNECTIONS: u32 = 4;
const WRITE_DELAY_MS: u32 = 20;
/// How long one change may take to show before the probe fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Propagation delays at one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Propagation {
    /// `light` or `heavy`.
    pub load: String,
    /// What ran meanwhile.
    pub background: Option<String>,
    /// `POST /api/tickets` → orderable.
    pub ticket_created: Summary,
    /// `POST /api/orders` → tickets shows `orderId`.
    pub order_created: Summary,
    /// `DELETE /api/orders/:id` → tickets shows no `orderId`.
    pub order_cancelled: Summary,
    /// `PUT /api/tickets/:id` → orders' replica updated.
    pub ticket_updated: Summary,
}

/// The delays of one probe, in milliseconds, in the order above.
type Probe = [f64; 4];

/// Probes at light load, then under heavy load.
pub async fn run(stack: &Stack) -> anyhow::Result<Vec<Propagation>> {
    let tickets = Api::new(&stack.service("tickets")?.url())?;
    let orders = Api::new(&stack.service("orders")?.url())?;
    let seller = Api::new(&stack.ingress)?
        .sign_up("propagation-seller")
        .await?;
    let buyer = Api::new(&stack.ingress)?
        .sign_up("propagation-buyer")
        .await?;
    let probes = Probes {
        tickets: &tickets,
        orders: &orders,
        seller: &seller,
        buyer: &buyer,
    };

    let light = probes.many(LIGHT_SAMPLES).await?;
    let light = summarise("light", None, &light)?;
    report(&light);

    let probe_ticket = tickets.create_ticket(&seller, 10.0).await?;
    let reads = Run {
        url: format!(
            "{}/api/tickets/{}",
            stack.service("tickets")?.url(),
            probe_ticket.id
        ),
        connections: READ_CONNECTIONS,
        // Stopped when the probes are done; long enough for them.
        duration: Duration::from_secs(300),
        cookie: None,
        body: Body::Get,
    };
    let writes = Run {
        url: format!("{}/api/tickets", stack.service("tickets")?.url()),
        connections: WRITE_CONNECTIONS,
        duration: Duration::from_secs(300),
        cookie: Some(&seller.cookie),
        body: Body::Post(json!({"title": "load", "price": 5}).to_string()),
    };
    let mut loads = Vec::new();
    for (name, run, delay) in [
        ("propagation-reads", &reads, None),
        ("propagation-writes", &writes, Some(WRITE_DELAY_MS)),
    ] {
        let script = stack.work_dir.join(format!("{name}.lua"));
        let threads = wrk::threads(run.connections);
        let lua = match delay {
            Some(delay) => wrk::paced_script(&run.body, threads, delay),
            None => wrk::script(&run.body, threads),
        };
        std::fs::write(&script, lua)
            .with_context(|| format!("could not write {}", script.display()))?;
        let load = tokio::process::Command::new(&stack.wrk)
            .args(wrk::arguments(run, &script))
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("could not start the background load")?;
        loads.push(load);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let heavy = probes.many(HEAVY_SAMPLES).await;
    for mut load in loads {
        load.kill()
            .await
            .context("could not stop the background load")?;
    }
    let description = format!(
        "{} and, each connection pausing {WRITE_DELAY_MS} ms between requests, {} (both direct to tickets)",
        wrk::display_command(&reads, "propagation-reads.lua"),
        wrk::display_command(&writes, "propagation-writes.lua"),
    );
    let heavy = summarise("heavy", Some(description), &heavy?)?;
    report(&heavy);
    Ok(vec![light, heavy])
}

fn report(result: &Propagation) {
    let line = |name: &str, summary: &Summary| {
        progress(format_args!(
            "propagation ({}) {name:<17} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            result.load, summary.p50_ms, summary.p99_ms, summary.max_ms
        ));
    };
    line("ticket:created", &result.ticket_created);
    line("order:created", &result.order_created);
    line("order:cancelled", &result.order_cancelled);
    line("ticket:updated", &result.ticket_updated);
}

fn summarise(
    load: &str,
    background: Option<String>,
    probes: &[Probe],
) -> anyhow::Result<Propagation> {
    let column = |index: usize| {
        let samples: Vec<f64> = probes.iter().map(|probe| probe[index]).collect();
        Summary::of(&samples).context("no propagation sample")
    };
    Ok(Propagation {
        load: load.to_owned(),
        background,
        ticket_created: column(0)?,
        order_created: column(1)?,
        order_cancelled: column(2)?,
        ticket_updated: column(3)?,
    })
}

struct Probes<'a> {
    tickets: &'a Api,
    orders: &'a Api,
    seller: &'a User,
    buyer: &'a User,
}

impl Probes<'_> {
    async fn many(&self, count: usize) -> anyhow::Result<Vec<Probe>> {
        let mut probes = Vec::with_capacity(count);
        for _ in 0..count {
            probes.push(self.one().await?);
        }
        Ok(probes)
    }

    async fn one(&self) -> anyhow::Result<Probe> {
        let ticket = self.tickets.create_ticket(self.seller, 10.0).await?;
        let created = Instant::now();
        let order = loop {
            if let Some(order) = self.orders.try_order(self.buyer, &ticket.id).await? {
                break order;
            }
            give_up_after(created, "orders never learnt of the ticket")?;
        };
        let ticket_created = ms(created);

        let ordered = Instant::now();
        self.until(
            ordered,
            "tickets never showed the order",
            |ticket| ticket.order_id.as_deref() == Some(order.id.as_str()),
            &ticket.id,
        )
        .await?;
        let order_created = ms(ordered);

        self.orders.cancel_order(self.buyer, &order.id).await?;
        let cancelled = Instant::now();
        self.until(
            cancelled,
            "tickets never released the ticket",
            |ticket| ticket.order_id.is_none(),
            &ticket.id,
        )
        .await?;
        let order_cancelled = ms(cancelled);

        let updated = self
            .tickets
            .update_ticket(self.seller, &ticket.id, 11.0)
            .await?;
        let sent = Instant::now();
        loop {
            let seen = self.orders.get_order(self.buyer, &order.id).await?;
            if seen
                .ticket
                .is_some_and(|replica| replica.version >= updated.version)
            {
                break;
            }
            give_up_after(sent, "orders never saw the ticket's update")?;
        }
        let ticket_updated = ms(sent);
        Ok([
            ticket_created,
            order_created,
            order_cancelled,
            ticket_updated,
        ])
    }

    /// Polls `GET /api/tickets/:id` until `done` holds.
    async fn until(
        &self,
        since: Instant,
        failure: &str,
        done: impl Fn(&crate::api::Ticket) -> bool,
        id: &str,
    ) -> anyhow::Result<()> {
        loop {
            if done(&self.tickets.ticket(id).await?) {
                return Ok(());
            }
            give_up_after(since, failure)?;
        }
    }
}

fn give_up_after(since: Instant, failure: &str) -> anyhow::Result<()> {
    if since.elapsed() > PATIENCE {
        bail!("{failure} within {PATIENCE:?}");
    }
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
