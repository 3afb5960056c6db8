//! The soak: many users buying and selling at random while replicas are killed and NATS is
//! restarted (or, in a cluster, its nodes are killed one at a time); then, once the fleet is
//! quiet, the invariants.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::{Api, Failure, Reply};
use crate::fleet::{Fleet, FleetOptions};
use crate::invariants::settle;

/// How big and how long.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Simulated users.
    pub users: usize,
    /// How long they act (after signing up).
    pub duration: Duration,
    /// Time between two kills (each kills one random replica and restarts it soon after).
    pub kill_every: Duration,
    /// NATS restarts, spread over the run (at least one).
    pub nats_restarts: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl SoakOptions {
    /// The short soak `cargo test` runs, each figure overridden by its `CHAOS_*` variable
    /// (`cargo xtask chaos` sets them for the full size): `CHAOS_USERS` (60), `CHAOS_SECONDS`
    /// (20), `CHAOS_KILL_EVERY_MS` (3,000), `CHAOS_NATS_RESTARTS` (`nats_restarts`) and
    /// `CHAOS_SEED` (1), which replays a run's random choices.
    pub fn from_env(nats_restarts: usize) -> SoakOptions {
        let setting = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let count = |name: &str, default: usize| {
            usize::try_from(setting(name, default as u64)).unwrap_or(default)
        };
        SoakOptions {
            users: count("CHAOS_USERS", 60),
            duration: Duration::from_secs(setting("CHAOS_SECONDS", 20)),
            kill_every: Duration::from_millis(setting("CHAOS_KILL_EVERY_MS", 3_000)),
            nats_restarts: count("CHAOS_NATS_RESTARTS", nats_restarts),
            seed: setting("CHAOS_SEED", 1),
        }
    }
}

/// How long orders wait for payment in the soak: short, so that some expire during it.
const WINDOW: Duration = Duration::from_secs(8);

/// Starts a fleet as `fleet` says (with the soak's expiration window, and two replicas of auth
/// and of expiration besides tickets', orders' and payments'),
/// runs the soak on it, lets it settle, and checks every invariant across the databases, the
/// bus and Stripe, and the soak's own: every order cancelled with a 204 ends cancelled, no
/// answer broke a rule, no service stayed down, and the users both bought and let orders
/// expire. An error gives the run's figures and lists the violations.
pub async fn run_and_check(fleet: FleetOptions, options: &SoakOptions) -> anyhow::Result<Soaked> {
    let started = Instant::now();
    let fleet = Fleet::start(
        fleet
            .with_window(WINDOW)
            // Two, as in the cluster: a kill of the only one would drop every sign-up queued
            // for its hashing threads (hundreds at the start of a full run) at once.
            .with_replicas("auth", 2)
            // Two, as in production: their workers share one queue of jobs and their
            // listeners one durable consumer, and each order must still expire exactly once.
            .with_replicas("expiration", 2),
    )
    .await?;
    match check(&fleet, options, started).await {
        Ok(figures) => Ok(Soaked { fleet, figures }),
        Err(error) => {
            fleet.keep_logs();
            Err(error.context(format!("the logs: {}", fleet.log().display())))
        }
    }
}

/// A soak that passed.
#[derive(Debug)]
pub struct Soaked {
    /// The fleet, still running, for the caller's own checks.
    pub fleet: Fleet,
    /// The run's figures, in one line, for the test to print.
    pub figures: String,
}

/// The soak on `fleet`, then its invariants (see [`run_and_check`]); the run's figures.
async fn check(fleet: &Fleet, options: &SoakOptions, started: Instant) -> anyhow::Result<String> {
    let report = run(fleet, options).await?;
    let acted = started.elapsed();
    let snapshot = settle(fleet, WINDOW + Duration::from_secs(90)).await?;
    let mut violations = snapshot.violations();
    for order in &report.cancelled_orders {
        let status = snapshot
            .orders
            .iter()
            .find(|o| &o.id == order)
            .map(|o| o.status.as_str());
        if status != Some("cancelled") {
            violations.push(format!(
                "order {order} was cancelled (204) but ends {status:?}"
            ));
        }
    }
    violations.extend(
        report
            .bad_answers
            .iter()
            .map(|answer| format!("bad answer: {answer}")),
    );
    let kept = snapshot.ledger.kept_charges().len();
    let refunded = snapshot.ledger.refunds.len();
    let complete = snapshot
        .orders
        .iter()
        .filter(|o| o.status == "complete")
        .count();
    let figures = format!(
        "soak: {} users, {} requests answered {:?}, by action and status {:?}; {} answers lost to kills, {} unreachable; \
         {} kills, {} NATS restarts ({} node(s)); {} tickets, {} orders ({} complete), {} payments answered 201, \
         {} charges kept, {} refunded; {} checks, {} violations; acted {:.0?}, settled after {:.0?} (seed {})",
        report.users,
        report.answered(),
        report.statuses,
        report.outcomes,
        report.lost,
        report.unreachable,
        report.kills,
        report.nats_restarts,
        fleet.nats_nodes(),
        snapshot.tickets.len(),
        snapshot.orders.len(),
        complete,
        report.paid,
        kept,
        refunded,
        snapshot.checks(),
        violations.len(),
        acted,
        started.elapsed(),
        options.seed,
    );
    if !violations.is_empty() {
        anyhow::bail!(
            "{figures}\n{} violations:\n{}",
            violations.len(),
            violations.join("\n")
        );
    }
    anyhow::ensure!(snapshot.is_quiet(), "the fleet never settled");
    anyhow::ensure!(report.unreachable == 0, "a service stayed down");
    anyhow::ensure!(
        report.kills > 0 && report.nats_restarts > 0,
        "nothing was killed or restarted"
    );
    anyhow::ensure!(
        complete > 0 && snapshot.orders.len() > complete,
        "the soak neither bought nor let orders expire"
    );
    Ok(figures)
}

/// What happened.
#[derive(Debug, Default, Clone)]
pub struct SoakReport {
    pub users: usize,
    /// Requests answered, by action.
    pub operations: BTreeMap<&'static str, u64>,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers by action and status.
    pub outcomes: BTreeMap<(&'static str, u16), u64>,
    /// Requests whose answer was lost to a kill (outcome unknown).
    pub lost: u64,
    /// Requests no replica could take for 30 s.
    pub unreachable: u64,
    pub kills: u64,
    pub nats_restarts: u64,
    /// Answers that broke a rule as they came: a 5xx, a non-envelope error, a wrong status.
    pub bad_answers: Vec<String>,
    /// Orders whose cancellation was answered 204: they must end cancelled.
    pub cancelled_orders: Vec<String>,
    /// Orders paid (201).
    pub paid: u64,
}

impl SoakReport {
    /// All requests answered.
    pub fn answered(&self) -> u64 {
        self.statuses.values().sum()
    }
}

/// Shared between the users.
struct Market {
    api: Api,
    /// Tickets for sale (ids), anyone's.
    tickets: Mutex<Vec<String>>,
    report: Mutex<SoakReport>,
    /// Set when the users should stop.
    stop: AtomicBool,
}

impl Market {
    fn record(&self, action: &'static str, result: &Result<Reply, Failure>, expected: &[u16]) {
        let Ok(mut report) = self.report.lock() else {
            return;
        };
        match result {
            Ok(reply) => {
                *report.operations.entry(action).or_default() += 1;
                *report.statuses.entry(reply.status).or_default() += 1;
                *report.outcomes.entry((action, reply.status)).or_default() += 1;
                let wrong = !expected.contains(&reply.status)
                    || (reply.status >= 400 && !reply.is_envelope());
                if wrong && report.bad_answers.len() < 50 {
                    report.bad_answers.push(format!(
                        "{action}: {} {}",
                        reply.status,
                        reply.text.chars().take(300).collect::<String>()
                    ));
                }
            }
            Err(Failure::Lost(_)) => report.lost += 1,
            Err(Failure::Unreachable(_)) => report.unreachable += 1,
        }
    }
}

/// Runs the soak against `fleet`: users act for `options.duration` while replicas are killed
/// and NATS is restarted; then every replica is brought back. The caller checks the invariants.
pub async fn run(fleet: &Fleet, options: &SoakOptions) -> anyhow::Result<SoakReport> {
    let market = Arc::new(Market {
        api: Api::new(fleet),
        tickets: Mutex::new(Vec::new()),
        report: Mutex::new(SoakReport {
            users: options.users,
            ..SoakReport::default()
        }),
        stop: AtomicBool::new(false),
    });
    let mut users = Vec::new();
    for user in 0..options.users {
        let market = market.clone();
        let seed = options.seed.wrapping_add(user as u64);
        // Arrivals spread over the first sixth of the run (4 s at least), as real traffic
        // ramps up: 500 sign-ups within 4 s are 2.5 times what two cores can hash.
        let ramp = (options.duration / 6).max(Duration::from_secs(4));
        let arrival = ramp.mul_f64(user as f64 / options.users.max(1) as f64);
        users.push(tokio::spawn(async move {
            tokio::time::sleep(arrival).await;
            act(&market, user, seed).await
        }));
    }

    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(options.seed);
    let restarts_at: Vec<Duration> = (1..=options.nats_restarts.max(1))
        .map(|n| {
            options.duration * u32::try_from(n).unwrap_or(1)
                / u32::try_from(options.nats_restarts.max(1) + 1).unwrap_or(2)
        })
        .collect();
    let mut next_restart = 0;
    let (mut kills, mut nats_restarts) = (0, 0);
    while started.elapsed() < options.duration {
        let jitter = rng.random_range(0.5..1.5);
        tokio::time::sleep(options.kill_every.mul_f64(jitter)).await;
        if next_restart < restarts_at.len() && started.elapsed() >= restarts_at[next_restart] {
            restart_nats(fleet, next_restart, &mut rng).await?;
            nats_restarts += 1;
            next_restart += 1;
            continue;
        }
        let victim = rng.random_range(0..fleet.members().len());
        fleet.kill(victim).await?;
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_500))).await;
        fleet.restart(victim).await?;
    }
    while next_restart < restarts_at.len() {
        restart_nats(fleet, next_restart, &mut rng).await?;
        nats_restarts += 1;
        next_restart += 1;
    }
    market.stop.store(true, Ordering::SeqCst);
    for user in users {
        user.await??;
    }
    // Everything back up, in case a kill raced the end.
    for index in 0..fleet.members().len() {
        fleet.restart(index).await?;
    }
    let mut report = market
        .report
        .lock()
        .map_err(|_| anyhow::anyhow!("a user panicked"))?
        .clone();
    report.kills = kills;
    report.nats_restarts = nats_restarts;
    Ok(report)
}

/// The `n`th NATS restart: a single server is stopped (SIGTERM) and started again; in a cluster,
/// node `n` (round the nodes) is SIGKILLed, left down for a moment while the others carry the
/// streams, and brought back.
async fn restart_nats(fleet: &Fleet, n: usize, rng: &mut StdRng) -> anyhow::Result<()> {
    let nodes = fleet.nats_nodes();
    if nodes < 2 {
        return fleet.restart_nats(false).await;
    }
    let node = n % nodes;
    fleet.stop_nats(node, true).await?;
    tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..3_000))).await;
    fleet.start_nats(node).await
}

/// An order a user holds, and what they will do with it.
struct Held {
    id: String,
    due: Instant,
    fate: Fate,
}

#[derive(Clone, Copy)]
enum Fate {
    Pay,
    Cancel,
    /// Pay and cancel at the same moment.
    Race,
    /// Let it expire.
    Expire,
}

/// One user's life: sign up, then sell, buy, pay, cancel, edit, browse, and sign out and back
/// in, until stopped.
async fn act(market: &Market, user: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let api = &market.api;
    let email = format!("user{user}-{seed}@chaos.test");
    let (mut cookie, _id) = api.sign_up(&email, "password").await?;
    let mut mine: Vec<String> = Vec::new();
    let mut held: Vec<Held> = Vec::new();
    while !market.stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..2_500))).await;
        if market.stop.load(Ordering::SeqCst) {
            break;
        }
        let session = Some(cookie.as_str());
        // Orders whose time has come first.
        if let Some(position) = held.iter().position(|order| order.due <= Instant::now()) {
            let order = held.swap_remove(position);
            settle_order(market, session, &order).await;
            continue;
        }
        match rng.random_range(0..100) {
            0..25 => {
                let cents: u32 = rng.random_range(100..30_000);
                let body = json!({ "title": format!("show {}", rng.random::<u32>()), "price": f64::from(cents) / 100.0 });
                let result = api
                    .call(Method::POST, "/api/tickets", session, Some(&body))
                    .await;
                market.record("create ticket", &result, &[201]);
                if let Some(id) = result
                    .ok()
                    .and_then(|reply| reply.str("id").map(str::to_owned))
                {
                    mine.push(id.clone());
                    if let Ok(mut tickets) = market.tickets.lock() {
                        tickets.push(id);
                    }
                }
            }
            25..60 => {
                let ticket = market
                    .tickets
                    .lock()
                    .ok()
                    .and_then(|tickets| tickets.choose(&mut rng).cloned());
                let Some(ticket) = ticket else { continue };
                let body = json!({ "ticketId": ticket });
                let result = api
                    .call(Method::POST, "/api/orders", session, Some(&body))
                    .await;
                // 404: not replicated yet (or a lost create); 400: reserved by someone.
                market.record("create order", &result, &[201, 400, 404]);
                if let Some(id) = result
                    .ok()
                    .filter(|reply| reply.status == 201)
                    .and_then(|reply| reply.str("id").map(str::to_owned))
                {
                    let fate = match rng.random_range(0..100) {
                        0..45 => Fate::Pay,
                        45..65 => Fate::Cancel,
                        65..75 => Fate::Race,
                        _ => Fate::Expire,
                    };
                    let due = Instant::now() + Duration::from_millis(rng.random_range(0..3_000));
                    held.push(Held { id, due, fate });
                }
            }
            60..75 => {
                let Some(ticket) = mine.choose(&mut rng).cloned() else {
                    continue;
                };
                let cents: u32 = rng.random_range(100..30_000);
                let body = json!({ "title": format!("show {}", rng.random::<u32>()), "price": f64::from(cents) / 100.0 });
                let result = api
                    .call(
                        Method::PUT,
                        &format!("/api/tickets/{ticket}"),
                        session,
                        Some(&body),
                    )
                    .await;
                // 400: reserved by an order; 404: a create whose answer was lost never was.
                market.record("edit ticket", &result, &[200, 400]);
            }
            75..90 => {
                let result = api.call(Method::GET, "/api/orders", session, None).await;
                market.record("list orders", &result, &[200]);
                let ticket = market
                    .tickets
                    .lock()
                    .ok()
                    .and_then(|tickets| tickets.choose(&mut rng).cloned());
                if let Some(ticket) = ticket {
                    let result = api
                        .call(Method::GET, &format!("/api/tickets/{ticket}"), None, None)
                        .await;
                    market.record("show ticket", &result, &[200]);
                }
            }
            90..94 => {
                // Sign out (the token is revoked everywhere) and back in. 503: the bus did
                // not take the revocation, and the session goes on.
                let body = json!({});
                let result = api
                    .call(Method::POST, "/api/users/signout", session, Some(&body))
                    .await;
                market.record("sign out", &result, &[200, 503]);
                if !matches!(&result, Ok(reply) if reply.status == 503) {
                    cookie = api.sign_up(&email, "password").await?.0;
                }
            }
            _ => {
                let result = api
                    .call(Method::GET, "/api/users/currentuser", session, None)
                    .await;
                market.record("current user", &result, &[200]);
            }
        }
    }
    Ok(())
}

/// Pays for, cancels, or races both on an order the user holds.
async fn settle_order(market: &Market, session: Option<&str>, order: &Held) {
    let api = &market.api;
    let payment = json!({ "token": "tok_visa", "orderId": order.id });
    let cancel_path = format!("/api/orders/{}", order.id);
    let pay = || api.call(Method::POST, "/api/payments", session, Some(&payment));
    let cancel = || api.call(Method::DELETE, &cancel_path, session, None);
    // 400: cancelled meanwhile (by expiry, or the other half of a race), or paid already.
    // 404: the order has not reached the payments service yet (its consumer is catching up
    // after a kill or a NATS restart); the invariants check that it gets there.
    match order.fate {
        Fate::Pay => {
            let result = pay().await;
            market.record("pay", &result, &[201, 400, 404]);
            note_payment(market, &result);
        }
        Fate::Cancel => {
            let result = cancel().await;
            market.record("cancel", &result, &[204, 400]);
            note_cancel(market, &order.id, &result);
        }
        Fate::Race => {
            let (paid, cancelled) = tokio::join!(pay(), cancel());
            market.record("race pay", &paid, &[201, 400, 404]);
            market.record("race cancel", &cancelled, &[204, 400]);
            note_payment(market, &paid);
            note_cancel(market, &order.id, &cancelled);
        }
        Fate::Expire => {}
    }
}

fn note_payment(market: &Market, result: &Result<Reply, Failure>) {
    if matches!(result, Ok(reply) if reply.status == 201)
        && let Ok(mut report) = market.report.lock()
    {
        report.paid += 1;
    }
}

fn note_cancel(market: &Market, order: &str, result: &Result<Reply, Failure>) {
    if matches!(result, Ok(reply) if reply.status == 204)
        && let Ok(mut report) = market.report.lock()
    {
        report.cancelled_orders.push(order.to_owned());
    }
}
