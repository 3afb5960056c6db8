//! `ticketing-bench`: the measurements `cargo xtask bench` runs against a local stack (see the
//! crate docs in `lib.rs`). Not meant to be run by hand: xtask sets the `BENCH_*` environment.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use ticketing_bench::machine::Machine;
use ticketing_bench::report::{self, Report, StackResults, Timings};
use ticketing_bench::scenarios::http::Endpoint;
use ticketing_bench::scenarios::{
    catalogue, ceilings, expiration, footprint, http, pipeline, progress, propagation,
    quiet_machine,
};
use ticketing_bench::target::Stack;

#[derive(Debug, Parser)]
#[command(about = "ticketing-rs benchmarks, run by `cargo xtask bench`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// HTTP, ceilings, propagation, pipeline and footprint against the stack in `BENCH_*`.
    Stack {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Expiration lateness against the stack in `BENCH_*` (a short expiration window).
    Expiration {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
        /// How many orders to let expire.
        #[arg(long, default_value_t = 1000)]
        orders: usize,
    },
    /// Joins both parts into `<dir>/<date>.json` and `<dir>/<date>.md`.
    Report {
        /// The output of `stack`.
        #[arg(long)]
        stack: PathBuf,
        /// The output of `expiration`.
        #[arg(long)]
        expiration: PathBuf,
        /// The results directory.
        #[arg(long)]
        dir: PathBuf,
        /// The commands that ran, for the summary (repeatable).
        #[arg(long = "command")]
        commands: Vec<String>,
        /// Seconds the release build took.
        #[arg(long)]
        build_seconds: f64,
        /// Seconds the whole run took so far.
        #[arg(long)]
        total_seconds: f64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Stack { out } => {
            let stack = Stack::from_env()?;
            std::fs::create_dir_all(&stack.work_dir)
                .with_context(|| format!("could not create {}", stack.work_dir.display()))?;
            let results = measure_stack(&stack).await?;
            write_json(&out, &results)
        }
        Command::Expiration { out, orders } => {
            let stack = Stack::from_env()?;
            let results = expiration::run(&stack, orders).await?;
            write_json(&out, &results)
        }
        Command::Report {
            stack,
            expiration,
            dir,
            commands,
            build_seconds,
            total_seconds,
        } => {
            let stack: StackResults = read_json(&stack)?;
            let expiration = read_json(&expiration)?;
            let report = Report {
                date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
                machine: Machine::detect(),
                commands,
                timings: Timings {
                    build_seconds,
                    total_seconds,
                },
                checks: report::checks(&stack, &expiration),
                stack,
                expiration,
            };
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            write_json(&dir.join(format!("{}.json", report.date)), &report)?;
            let md = dir.join(format!("{}.md", report.date));
            std::fs::write(&md, report::markdown(&report))
                .with_context(|| format!("could not write {}", md.display()))?;
            progress(format_args!("targets:\n{}", report::targets_table(&report)));
            Ok(())
        }
    }
}

/// Everything but expiration: idle measurements first, then `GET /api/tickets` (before anything
/// else creates tickets) and a page of the catalogue at its 100 tickets and at 100,000,
/// propagation (before the other runs leave a backlog of events), the bare
/// axum ceiling and the other HTTP runs (`currentuser` first), the sign-in storms between scrypt
/// ceilings, the pipeline, and `POST /api/orders` last: each of its runs leaves the fleet
/// seconds of events to digest (the ticket reserved, the replicas, the expiration job), which
/// the next run waits out, and after the last one nothing has to.
async fn measure_stack(stack: &Stack) -> anyhow::Result<StackResults> {
    progress("footprint: idle memory, binary sizes, start to ready");
    let mut footprint = footprint::idle(stack).await?;
    // First of what creates tickets: `GET /api/tickets` must list exactly 100.
    progress("HTTP throughput and latency: GET /api/tickets");
    let mut http = http::run(stack, &[Endpoint::ListTickets], &[]).await?;
    // While the catalogue holds those 100 tickets: then 100,000, then 100 again.
    progress("a page of the catalogue at 100 and at 100,000 tickets");
    let catalogue = catalogue::run(stack).await?;
    // Before the other HTTP runs leave the bus a backlog to drain.
    progress("event propagation");
    quiet_machine("propagation").await?;
    let propagation = propagation::run(stack).await?;
    // Each ceiling right before what it bounds: a shared machine's speed drifts within minutes.
    progress("ceiling: bare axum");
    quiet_machine("the bare axum ceiling").await?;
    let hello = ceilings::hello(stack).await?;
    progress("HTTP throughput and latency");
    let rest: Vec<Endpoint> = Endpoint::ALL
        .into_iter()
        .filter(|endpoint| !matches!(endpoint, Endpoint::ListTickets | Endpoint::CreateOrder))
        .collect();
    http.extend(http::run(stack, &rest, &http).await?);
    progress("sign-in storms between scrypt ceilings");
    let signin = ceilings::signin(stack).await?;
    progress("purchase pipeline");
    quiet_machine("the pipeline").await?;
    let pipeline = pipeline::run(stack).await?;
    progress("HTTP throughput and latency: POST /api/orders");
    let orders = http::run(stack, &[Endpoint::CreateOrder], &http).await?;
    http.extend(orders);
    footprint::add_loaded(&mut footprint, stack, &pipeline.loaded_rss_kib);
    Ok(StackResults {
        http,
        catalogue,
        hello,
        signin,
        propagation,
        pipeline,
        footprint,
    })
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("could not serialise the results")?;
    std::fs::write(path, text + "\n").with_context(|| format!("could not write {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("could not parse {}", path.display()))
}
