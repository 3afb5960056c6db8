//! The measurements, one module each, and what they share.

pub mod catalogue;
pub mod ceilings;
pub mod copy;
pub mod db_work;
pub mod expiration;
pub mod footprint;
pub mod http;
pub mod logging;
pub mod paired;
pub mod pipeline;
pub mod propagation;
pub mod publish;
pub mod turns;

use std::future::Future;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};

use crate::api::{Api, User};

/// Runs `count` calls of `make(i)`, at most `concurrency` at a time; the results in any order.
pub async fn bounded<T, F, Fut>(count: usize, concurrency: usize, make: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    futures::stream::iter((0..count).map(make))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Creates `count` tickets as `seller` through `tickets`, 32 at a time; their ids.
pub async fn create_tickets(
    tickets: &Api,
    seller: &User,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    bounded(count, 32, |i| async move {
        let price = 10.0 + (i % 90) as f64;
        Ok(tickets.create_ticket(seller, price).await?.id)
    })
    .await
}

/// Waits until orders' replica has caught up with the tickets created so far: `seller` creates
/// one more ticket and `buyer` orders it (retrying while orders answers 404). Events are handled
/// in order, so once this one is known the earlier ones are too.
/// Orders may lag far behind after tickets were created at full speed: it says how long.
pub async fn wait_for_replica(
    tickets: &Api,
    orders: &Api,
    seller: &User,
    buyer: &User,
) -> anyhow::Result<()> {
    let sentinel = tickets.create_ticket(seller, 1.0).await?;
    let started = std::time::Instant::now();
    while orders.try_order(buyer, &sentinel.id).await?.is_none() {
        if started.elapsed() > REPLICA_PATIENCE {
            anyhow::bail!("orders' replica did not catch up within {REPLICA_PATIENCE:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if started.elapsed() > std::time::Duration::from_secs(1) {
        progress(format_args!(
            "orders' replica took {:.1} s to catch up with tickets",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// How long orders may take to catch up with a backlog of `ticket:created`.
const REPLICA_PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr().context("no local address")?.port())
}

/// The busiest the machine may be (share of all cores, over [`QUIET_WINDOW`]) for a run to start.
const QUIET_BUSY: f64 = 0.15;
const QUIET_WINDOW: std::time::Duration = std::time::Duration::from_millis(500);
/// How long [`quiet_machine`] waits at most.
const QUIET_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until the whole machine is nearly idle (under [`QUIET_BUSY`] over [`QUIET_WINDOW`]), at
/// most [`QUIET_PATIENCE`], and says so when that took a while: after a write-heavy run the
/// fleet goes on digesting its events (listeners, relays, the database) for seconds, and a run
/// started meanwhile would measure the leftovers of the last one. Returns how long it waited.
pub async fn quiet_machine(before: &str) -> anyhow::Result<std::time::Duration> {
    let started = std::time::Instant::now();
    loop {
        let (busy_before, total_before) = crate::procfs::machine_cpu_ticks()?;
        tokio::time::sleep(QUIET_WINDOW).await;
        let (busy_after, total_after) = crate::procfs::machine_cpu_ticks()?;
        let total = total_after.saturating_sub(total_before).max(1);
        let busy = busy_after.saturating_sub(busy_before) as f64 / total as f64;
        let waited = started.elapsed();
        if busy < QUIET_BUSY || waited > QUIET_PATIENCE {
            if waited > std::time::Duration::from_secs(2) {
                progress(format_args!(
                    "the machine was busy for {:.1} s before {before} ({:.0}% at the end)",
                    waited.as_secs_f64(),
                    busy * 100.0
                ));
            }
            return Ok(waited);
        }
    }
}

/// When the first progress line was printed: the run's start, near enough.
static STARTED: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// Prints a progress line, with the seconds since the first, so each phase's cost shows.
#[allow(clippy::print_stdout, reason = "progress of a command-line benchmark")]
pub fn progress(message: impl std::fmt::Display) {
    println!(
        "bench [{:6.1} s]: {message}",
        STARTED.elapsed().as_secs_f64()
    );
}
