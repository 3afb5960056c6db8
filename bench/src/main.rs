//! `ticketing-bench`: the measurements `cargo xtask bench` runs against a local stack (see the
//! crate docs in `lib.rs`). Not meant to be run by hand: xtask sets the `BENCH_*` environment.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use ticketing_bench::api::Api;
use ticketing_bench::machine::Machine;
use ticketing_bench::report::parts::{self, ClusterPart, PurchasesPart, StackPart, write_json};
use ticketing_bench::report::{self, Against, Report, Timings};
use ticketing_bench::scenarios::catalogue::CataloguePage;
use ticketing_bench::scenarios::db_work::DbWork;
use ticketing_bench::scenarios::http::Endpoint;
use ticketing_bench::scenarios::{
    catalogue, ceilings, create_tickets, db_work, expiration, footprint, http, logging, paired,
    pipeline, progress, propagation, publish, quiet_machine,
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
    /// Footprint, HTTP, propagation, ceilings and sign-in storms against the stack in `BENCH_*`.
    Stack {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// A page of the catalogue at 100 and at 100,000 tickets, against a fresh stack.
    Catalogue {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// The purchase pipeline and `POST /api/orders`, against a fresh stack.
    Purchases {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// The database work of one purchase, against a fresh stack whose services count their
    /// commands.
    Work {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// In a side-by-side run: this tree's stack (`BENCH_*`) and the other's (`BENCH_OTHER_*`),
    /// both running, measured in turn.
    Paired {
        /// Where to write the results (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Publish latency and propagation against a stack whose NATS is a three-node cluster.
    Cluster {
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
    /// Joins the parts into `<dir>/<date>.json` and `<dir>/<date>.md` (`<date>-against-<rev>`
    /// with `--against`).
    Report {
        /// The directory of this tree's parts (`stack.json`, `catalogue.json` ...).
        #[arg(long)]
        parts: PathBuf,
        /// The other tree of a side-by-side run: its revision, as the report names it.
        #[arg(long, requires = "against_parts")]
        against: Option<String>,
        /// The directory of the other tree's parts.
        #[arg(long, requires = "against")]
        against_parts: Option<PathBuf>,
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
            let stack = prepared_stack()?;
            write_json(&out, &measure_stack(&stack).await?)
        }
        Command::Catalogue { out } => {
            let stack = prepared_stack()?;
            write_json(&out, &measure_catalogue(&stack).await?)
        }
        Command::Purchases { out } => {
            let stack = prepared_stack()?;
            write_json(&out, &measure_purchases(&stack).await?)
        }
        Command::Work { out } => {
            let stack = prepared_stack()?;
            write_json(&out, &measure_work(&stack).await?)
        }
        Command::Paired { out } => {
            let (ours, theirs) = (prepared_stack()?, Stack::other_from_env()?);
            progress("both trees in turn, a stack of each running");
            write_json(&out, &paired::run(&ours, &theirs).await?)
        }
        Command::Cluster { out } => {
            let stack = prepared_stack()?;
            write_json(&out, &measure_bus(&stack).await?)
        }
        Command::Expiration { out, orders } => {
            let stack = prepared_stack()?;
            write_json(&out, &expiration::run(&stack, orders).await?)
        }
        Command::Report {
            parts: ours,
            against,
            against_parts,
            dir,
            commands,
            build_seconds,
            total_seconds,
        } => {
            let (stack, expiration) = parts::read(&ours)?;
            let against = match (against, against_parts) {
                (Some(rev), Some(parts)) => {
                    let (stack, expiration) = parts::read(&parts)?;
                    Some(Against {
                        rev,
                        stack,
                        expiration,
                    })
                }
                _ => None,
            };
            let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
            let name = match &against {
                Some(against) => format!("{date}-against-{}", file_safe(&against.rev)),
                None => date.clone(),
            };
            let report = Report {
                date,
                machine: Machine::detect(),
                commands,
                timings: Timings {
                    build_seconds,
                    total_seconds,
                },
                checks: report::checks(&stack, &expiration),
                stack,
                expiration,
                against,
            };
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            write_json(&dir.join(format!("{name}.json")), &report)?;
            let md = dir.join(format!("{name}.md"));
            std::fs::write(&md, report::markdown(&report))
                .with_context(|| format!("could not write {}", md.display()))?;
            progress(format_args!("targets:\n{}", report::targets_table(&report)));
            Ok(())
        }
    }
}

/// The stack in `BENCH_*`, with its work directory made.
fn prepared_stack() -> anyhow::Result<Stack> {
    let stack = Stack::from_env()?;
    std::fs::create_dir_all(&stack.work_dir)
        .with_context(|| format!("could not create {}", stack.work_dir.display()))?;
    Ok(stack)
}

/// `rev` as part of a file name: `/` and other separators become `-`.
fn file_safe(rev: &str) -> String {
    rev.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The main stack's part: idle measurements first, then `GET /api/tickets` (before anything
/// else creates tickets), propagation (before the other runs leave a backlog of events) and
/// publish latency, the bare axum ceiling and the other HTTP runs (`currentuser` first), and the
/// sign-in storms between scrypt ceilings.
async fn measure_stack(stack: &Stack) -> anyhow::Result<StackPart> {
    progress("footprint: idle memory, binary sizes, start to ready");
    let footprint = footprint::idle(stack).await?;
    // First of what creates tickets: `GET /api/tickets` must list exactly 100.
    progress("HTTP throughput and latency: GET /api/tickets");
    let mut http = http::run(stack, &[Endpoint::ListTickets], &[]).await?;
    // Before the other HTTP runs leave the bus a backlog to drain.
    progress("event propagation");
    quiet_machine("propagation").await?;
    let propagation = propagation::run(stack).await?;
    progress("publish latency");
    let publish = publish::run(stack).await?;
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
    progress("currentuser with a log line per request (info) and without (warn)");
    let logging = Some(logging::run(stack).await?);
    progress("sign-in storms between scrypt ceilings");
    let signin = ceilings::signin(stack).await?;
    Ok(StackPart {
        http,
        hello,
        logging,
        signin,
        propagation,
        publish,
        footprint,
    })
}

/// The cluster's part: propagation and publish latency, as on the main stack.
async fn measure_bus(stack: &Stack) -> anyhow::Result<ClusterPart> {
    progress(format_args!(
        "event propagation, {} NATS nodes",
        stack.nats_servers()
    ));
    quiet_machine("propagation").await?;
    let propagation = propagation::run(stack).await?;
    progress("publish latency");
    let publish = publish::run(stack).await?;
    Ok(ClusterPart {
        publish,
        propagation,
    })
}

/// The catalogue's part: [`http::LISTED_TICKETS`] tickets listed through the API, as on the
/// main stack when `GET /api/tickets` is measured, then the catalogue at that size and at
/// 100,000.
async fn measure_catalogue(stack: &Stack) -> anyhow::Result<Vec<CataloguePage>> {
    progress("a page of the catalogue at 100 and at 100,000 tickets");
    let api = Api::new(&stack.service("tickets")?.url())?;
    let seller = Api::new(&stack.ingress)?
        .sign_up("catalogue-seller")
        .await?;
    create_tickets(&api, &seller, http::LISTED_TICKETS).await?;
    catalogue::run(stack).await
}

/// The database work of a purchase; `None` when the services count no commands.
async fn measure_work(stack: &Stack) -> anyhow::Result<Option<DbWork>> {
    progress("the database work of a purchase");
    let api = Api::new(&stack.ingress)?;
    let seller = api.sign_up("work-seller").await?;
    let buyer = api.sign_up("work-buyer").await?;
    db_work::run(stack, &api, &seller, &buyer).await
}

/// The purchases' part: the pipeline, then `POST /api/orders` last: each of its runs leaves
/// the fleet seconds of events to digest (the ticket reserved, the replicas, the expiration
/// job), which the next run waits out, and after the last one nothing has to.
async fn measure_purchases(stack: &Stack) -> anyhow::Result<PurchasesPart> {
    progress("purchase pipeline");
    quiet_machine("the pipeline").await?;
    let pipeline = pipeline::run(stack, pipeline::DURATION).await?;
    let loaded = footprint::loaded(stack, &pipeline.loaded_rss_kib);
    progress("HTTP throughput and latency: POST /api/orders");
    let orders = http::run(stack, &[Endpoint::CreateOrder], &[]).await?;
    Ok(PurchasesPart {
        pipeline,
        orders,
        loaded,
    })
}
