//! HTTP throughput and latency of six endpoints with wrk, direct to each service and through
//! the ingress, at a few concurrency levels.
//!
//! The order matters: `GET /api/tickets` runs first, while exactly [`LISTED_TICKETS`] tickets
//! exist. `POST /api/orders` needs a ticket nobody ordered for every request, so before each of
//! its runs a pool of fresh tickets is created (sized from `POST /api/tickets`' rate at the same
//! level) and the script takes a different one for each request.

use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, User};
use crate::cpu::Meter;
use crate::scenarios::{create_tickets, progress, quiet_machine, wait_for_replica};
use crate::target::Stack;
use crate::wrk::{self, Body, Output, Run};

/// The concurrency levels (open connections) of each endpoint.
pub const CONNECTIONS: [u32; 3] = [1, 16, 64];

/// How many tickets `GET /api/tickets` lists.
pub const LISTED_TICKETS: usize = 100;

/// The most tickets created for one `POST /api/orders` run.
const MAX_ORDER_POOL: usize = 20_000;

/// The endpoints measured, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/tickets`, 100 tickets.
    ListTickets,
    /// `GET /api/users/currentuser`, signed in (right after its ceiling, the bare axum handler).
    CurrentUser,
    /// `GET /api/tickets/:id`.
    ShowTicket,
    /// `POST /api/users/signin`, right password.
    SignIn,
    /// `POST /api/tickets`.
    CreateTicket,
    /// `POST /api/orders`, a fresh ticket each time.
    CreateOrder,
}

impl Endpoint {
    /// All of them, in run order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::ListTickets,
        Endpoint::CurrentUser,
        Endpoint::ShowTicket,
        Endpoint::SignIn,
        Endpoint::CreateTicket,
        Endpoint::CreateOrder,
    ];

    /// `GET /api/tickets` ...
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::ListTickets => "GET /api/tickets (100)",
            Endpoint::ShowTicket => "GET /api/tickets/:id",
            Endpoint::CurrentUser => "GET /api/users/currentuser",
            Endpoint::SignIn => "POST /api/users/signin",
            Endpoint::CreateTicket => "POST /api/tickets",
            Endpoint::CreateOrder => "POST /api/orders",
        }
    }

    /// The service answering it.
    pub fn service(self) -> &'static str {
        match self {
            Endpoint::ListTickets | Endpoint::ShowTicket | Endpoint::CreateTicket => "tickets",
            Endpoint::CurrentUser | Endpoint::SignIn => "auth",
            Endpoint::CreateOrder => "orders",
        }
    }

    /// A short name for script files.
    fn slug(self) -> &'static str {
        match self {
            Endpoint::ListTickets => "list-tickets",
            Endpoint::ShowTicket => "show-ticket",
            Endpoint::CurrentUser => "currentuser",
            Endpoint::SignIn => "signin",
            Endpoint::CreateTicket => "create-ticket",
            Endpoint::CreateOrder => "create-order",
        }
    }
}

/// Direct to the service's port, or through nginx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// The service's own port.
    Direct,
    /// The ingress.
    Ingress,
}

/// One wrk run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResult {
    /// What was asked, e.g. `GET /api/users/currentuser`.
    pub endpoint: String,
    /// Direct or through the ingress.
    pub via: Via,
    /// Open connections.
    pub connections: u32,
    /// Successful responses per second.
    pub per_second: f64,
    /// What wrk measured.
    pub wrk: Output,
    /// The command, as shown in the report.
    pub command: String,
    /// The database server's CPU per successful response, in microseconds: over the run and
    /// [`TAIL`] after it, so the work a request leaves behind (its event's publish, the other
    /// services' replicas of it, all on the stack's one server) is counted too. None in reports
    /// from before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_cpu_us: Option<f64>,
}

/// How long the database server's CPU is still counted after a run: the relays and listeners
/// finish the work its requests left within it.
pub const TAIL: Duration = Duration::from_millis(500);

/// What every run needs: the user, the ids, the clients.
struct Fixture {
    user: User,
    /// Sells the tickets `user` orders: nobody may order their own.
    seller: User,
    ticket: String,
    tickets: Api,
    orders: Api,
}

/// Runs `endpoints` at every level, direct and through the ingress, after creating
/// [`LISTED_TICKETS`] tickets. `earlier` are the results of the runs before, which size the
/// ticket pools of `POST /api/orders`.
pub async fn run(
    stack: &Stack,
    endpoints: &[Endpoint],
    earlier: &[HttpResult],
) -> anyhow::Result<Vec<HttpResult>> {
    let tickets = Api::new(&stack.service("tickets")?.url())?;
    let orders = Api::new(&stack.service("orders")?.url())?;
    let user = Api::new(&stack.ingress)?.sign_up("http").await?;
    let seller = Api::new(&stack.ingress)?.sign_up("http-seller").await?;
    let listed = create_tickets(&tickets, &user, LISTED_TICKETS).await?;
    let fixture = Fixture {
        ticket: listed.first().context("no ticket was created")?.clone(),
        user,
        seller,
        tickets,
        orders,
    };
    let mut results: Vec<HttpResult> = Vec::new();
    for &endpoint in endpoints {
        for via in [Via::Direct, Via::Ingress] {
            for connections in CONNECTIONS {
                let body = match endpoint {
                    Endpoint::CreateOrder => {
                        let known: Vec<HttpResult> =
                            earlier.iter().chain(&results).cloned().collect();
                        let rate = expected_order_rate(&known, via, connections);
                        Body::EachTicket(order_pool(stack, &fixture, rate, via, connections).await?)
                    }
                    _ => body(endpoint, &fixture),
                };
                let settled = settle(&stack.service(endpoint.service())?.url()).await?;
                if settled > SETTLED {
                    progress(format_args!(
                        "{} took {:.1} s to answer promptly again after the previous run",
                        endpoint.service(),
                        settled.as_secs_f64()
                    ));
                }
                quiet_machine(&format!("{} {via:?} c={connections}", endpoint.label())).await?;
                let result = measure(stack, endpoint, via, connections, &fixture, body).await?;
                progress(format_args!(
                    "{:<28} {:<7} c={:<3} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  database {:>5.0} µs a request{}",
                    endpoint.label(),
                    format!("{via:?}").to_lowercase(),
                    connections,
                    result.per_second,
                    result.wrk.p50_us as f64 / 1000.0,
                    result.wrk.p99_us as f64 / 1000.0,
                    result.database_cpu_us.unwrap_or_default(),
                    error_note(&result.wrk),
                ));
                results.push(result);
            }
        }
    }
    Ok(results)
}

/// A service that answers `/readyz` this fast is ready for the next run.
const SETTLED: Duration = Duration::from_millis(100);

/// Waits (at most 30 s) until the service at `base` answers `GET /readyz` (which asks its
/// database) within [`SETTLED`], so that each run starts on a service that has finished with the
/// previous one: wrk closes its connections with requests in flight. Returns how long it took.
pub async fn settle(base: &str) -> anyhow::Result<Duration> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("could not build the HTTP client")?;
    let started = std::time::Instant::now();
    loop {
        let asked = std::time::Instant::now();
        let answered = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if answered && asked.elapsed() < SETTLED {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("{base} did not answer /readyz promptly within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// ` (12 errors)` when there were some.
pub fn error_note(output: &Output) -> String {
    let mut note = String::new();
    if output.errors() > 0 {
        note.push_str(&format!(" ({} errors)", output.errors()));
    }
    if output.exhausted > 0 {
        note.push_str(" (ran out of tickets)");
    }
    note
}

fn body(endpoint: Endpoint, fixture: &Fixture) -> Body {
    match endpoint {
        Endpoint::SignIn => Body::Post(
            json!({"email": fixture.user.email, "password": fixture.user.password}).to_string(),
        ),
        Endpoint::CreateTicket => Body::Post(json!({"title": "bench", "price": 25}).to_string()),
        _ => Body::Get,
    }
}

fn path(endpoint: Endpoint, fixture: &Fixture) -> String {
    match endpoint {
        Endpoint::ListTickets | Endpoint::CreateTicket => "/api/tickets".to_owned(),
        Endpoint::ShowTicket => format!("/api/tickets/{}", fixture.ticket),
        Endpoint::CurrentUser => "/api/users/currentuser".to_owned(),
        Endpoint::SignIn => "/api/users/signin".to_owned(),
        Endpoint::CreateOrder => "/api/orders".to_owned(),
    }
}

async fn measure(
    stack: &Stack,
    endpoint: Endpoint,
    via: Via,
    connections: u32,
    fixture: &Fixture,
    body: Body,
) -> anyhow::Result<HttpResult> {
    let base = match via {
        Via::Direct => stack.service(endpoint.service())?.url(),
        Via::Ingress => stack.ingress.clone(),
    };
    let needs_user = matches!(
        endpoint,
        Endpoint::CurrentUser | Endpoint::CreateTicket | Endpoint::CreateOrder
    );
    let run = Run {
        url: format!("{base}{}", path(endpoint, fixture)),
        connections,
        duration: stack.run_time,
        cookie: needs_user.then_some(fixture.user.cookie.as_str()),
        body,
    };
    let name = format!(
        "{}-{}-c{connections}",
        endpoint.slug(),
        format!("{via:?}").to_lowercase()
    );
    let meter = Meter::start(stack, &[], None);
    let started = std::time::Instant::now();
    let output = wrk::run(&stack.wrk, &stack.work_dir, &name, &run)
        .await
        .with_context(|| format!("wrk {} ({via:?}, c={connections})", endpoint.label()));
    tokio::time::sleep(TAIL).await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = meter.stop();
    let output = output?;
    let answered = output.ok_per_second() * run.duration.as_secs_f64();
    let database_cpu_us = cpu
        .iter()
        .find(|process| process.name == "mongo")
        .filter(|_| answered >= 1.0)
        .map(|mongo| mongo.percent / 100.0 * seconds * 1e6 / answered);
    Ok(HttpResult {
        endpoint: endpoint.label().to_owned(),
        via,
        connections,
        per_second: output.ok_per_second(),
        wrk: output,
        command: wrk::display_command(&run, &format!("{name}.lua")),
        database_cpu_us,
    })
}

/// Creates enough fresh tickets for one `POST /api/orders` run expected to go at about `rate`
/// per second, waits until orders knows them, and writes their ids to a file.
async fn order_pool(
    stack: &Stack,
    fixture: &Fixture,
    rate: f64,
    via: Via,
    connections: u32,
) -> anyhow::Result<std::path::PathBuf> {
    let count = pool_size(rate, stack.run_time);
    let ids = create_tickets(&fixture.tickets, &fixture.seller, count).await?;
    wait_for_replica(
        &fixture.tickets,
        &fixture.orders,
        &fixture.seller,
        &fixture.user,
    )
    .await?;
    let file = stack.work_dir.join(format!(
        "order-ids-{}-c{connections}.txt",
        format!("{via:?}").to_lowercase()
    ));
    std::fs::write(&file, ids.join("\n"))
        .with_context(|| format!("could not write {}", file.display()))?;
    Ok(file)
}

/// How many orders a second a `POST /api/orders` run at `connections` via `via` may reach, from
/// the runs before it: at most half what `POST /api/tickets` did at that level (an order reads
/// the ticket and its orders, then writes the order and its event, in a transaction: twice a
/// ticket's work at least), at most five times the direct run one level down (sixteen times the
/// connections can make over four times the orders: a bound of three ran out of tickets), and
/// through the ingress at most half as much again as the direct run at the same level. Sized
/// from tickets alone, the pools were several times too big, and orders spent long after each
/// run digesting their `ticket:created`.
pub fn expected_order_rate(results: &[HttpResult], via: Via, connections: u32) -> f64 {
    let rate_of = |endpoint: Endpoint, via: Via, connections: u32| {
        results
            .iter()
            .find(|result| {
                result.endpoint == endpoint.label()
                    && result.via == via
                    && result.connections == connections
            })
            .map(|result| result.per_second)
    };
    let tickets = rate_of(Endpoint::CreateTicket, via, connections).unwrap_or(1000.0) / 2.0;
    let lower = CONNECTIONS
        .iter()
        .copied()
        .take_while(|level| *level < connections)
        .last();
    let orders = match via {
        Via::Direct => lower
            .and_then(|lower| rate_of(Endpoint::CreateOrder, Via::Direct, lower))
            .map(|rate| rate * 5.0),
        Via::Ingress => {
            rate_of(Endpoint::CreateOrder, Via::Direct, connections).map(|rate| rate * 1.5)
        }
    };
    orders.map_or(tickets, |orders| orders.min(tickets))
}

/// Tickets for a run of `duration` at about `rate` per second, with half as much again to
/// spare, within bounds.
pub fn pool_size(rate: f64, duration: Duration) -> usize {
    let expected = rate.max(0.0) * duration.as_secs_f64() * 1.5;
    (expected.ceil() as usize).clamp(200, MAX_ORDER_POOL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_pools_have_room_to_spare_within_bounds() {
        assert_eq!(pool_size(1000.0, Duration::from_secs(5)), 7500);
        assert_eq!(pool_size(0.0, Duration::from_secs(5)), 200);
        assert_eq!(pool_size(1e9, Duration::from_secs(5)), MAX_ORDER_POOL);
    }

    fn measured(endpoint: Endpoint, via: Via, connections: u32, per_second: f64) -> HttpResult {
        HttpResult {
            endpoint: endpoint.label().to_owned(),
            via,
            connections,
            per_second,
            wrk: Output::default(),
            command: String::new(),
            database_cpu_us: None,
        }
    }

    #[test]
    fn order_pools_are_sized_from_the_orders_already_measured() {
        let mut results = vec![
            measured(Endpoint::CreateTicket, Via::Direct, 1, 600.0),
            measured(Endpoint::CreateTicket, Via::Direct, 16, 1300.0),
            measured(Endpoint::CreateTicket, Via::Direct, 64, 1150.0),
            measured(Endpoint::CreateTicket, Via::Ingress, 1, 470.0),
        ];
        // Nothing known of orders yet: half what tickets did.
        assert_eq!(expected_order_rate(&results, Via::Direct, 1), 300.0);
        results.push(measured(Endpoint::CreateOrder, Via::Direct, 1, 77.0));
        // Five times the level below, at most half what tickets did.
        assert_eq!(expected_order_rate(&results, Via::Direct, 16), 385.0);
        results.push(measured(Endpoint::CreateOrder, Via::Direct, 16, 400.0));
        assert_eq!(expected_order_rate(&results, Via::Direct, 64), 575.0);
        // Through the ingress: half as much again as direct at the same level.
        assert_eq!(expected_order_rate(&results, Via::Ingress, 1), 115.5);
        // A level with no ticket run to bound it: half of 1,000 a second.
        assert_eq!(expected_order_rate(&results, Via::Ingress, 16), 500.0);
    }

    #[test]
    fn each_endpoint_goes_to_its_service() {
        assert_eq!(Endpoint::ALL.len(), 6);
        assert_eq!(Endpoint::CurrentUser.service(), "auth");
        assert_eq!(Endpoint::CreateOrder.service(), "orders");
        assert_eq!(Endpoint::ListTickets.service(), "tickets");
    }
}
