//! The purchase pipeline end to end, through the ingress: each worker creates a ticket as a
//! seller, orders it as a buyer (retrying until orders knows it) and pays with the test card,
//! over and over. Measures purchases per second and the CPU each process used meanwhile: the
//! busiest is the one that saturates first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::cpu::{self, Meter, ProcessCpu};
use crate::procfs;
use crate::scenarios::db_work::DbWork;
use crate::scenarios::progress;
use crate::target::Stack;

/// Concurrent purchases.
pub const WORKERS: usize = 16;
/// How long the purchases part runs the pipeline.
pub const DURATION: Duration = Duration::from_secs(15);

/// The pipeline's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Concurrent purchases.
    pub workers: usize,
    /// How long it ran, in seconds.
    pub seconds: f64,
    /// Purchases completed (payment answered 201).
    pub purchases: u64,
    /// Purchases per second.
    pub per_second: f64,
    /// Attempts that failed.
    pub failures: u64,
    /// The CPU each process used meanwhile, busiest first.
    pub cpu: Vec<ProcessCpu>,
    /// Resident memory of each service at the end, in KiB.
    pub loaded_rss_kib: Vec<(String, u64)>,
    /// The database work of one purchase, when the services count it: measured on a stack of
    /// its own ([`db_work`]), and joined in by the report.
    #[serde(default)]
    pub db_work: Option<DbWork>,
}

impl Pipeline {
    /// The busiest process, and its share of one core.
    pub fn busiest(&self) -> Option<&ProcessCpu> {
        self.cpu.first()
    }
}

/// Runs the pipeline for `duration` with [`WORKERS`] workers.
pub async fn run(stack: &Stack, duration: Duration) -> anyhow::Result<Pipeline> {
    let api = Api::new(&stack.ingress)?;
    let seller = api.sign_up("pipeline-seller").await?;
    let buyer = api.sign_up("pipeline-buyer").await?;
    let meter = Meter::start(
        stack,
        &[("ticketing-bench (load)", std::process::id())],
        None,
    );
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let purchases = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(WORKERS);
    for _ in 0..WORKERS {
        let (api, seller, buyer) = (api.clone(), seller.clone(), buyer.clone());
        let (stop, purchases, failures) = (stop.clone(), purchases.clone(), failures.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let purchase = async {
                    let ticket = api.create_ticket(&seller, 20.0).await?;
                    let order = api.order(&buyer, &ticket.id).await?;
                    api.pay(&buyer, &order.id).await
                };
                match purchase.await {
                    Ok(()) => purchases.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failures.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let cpu = meter.stop();
    let seconds = started.elapsed().as_secs_f64();
    // Purchases still under way at the stop are not counted.
    let purchases = purchases.load(Ordering::Relaxed);
    let loaded_rss_kib = stack
        .services
        .iter()
        .filter_map(|service| {
            procfs::memory(service.pid)
                .ok()
                .map(|memory| (service.name.clone(), memory.rss_kib))
        })
        .collect();
    for worker in workers {
        worker.await.context("a pipeline worker panicked")?;
    }
    let pipeline = Pipeline {
        workers: WORKERS,
        seconds,
        purchases,
        per_second: purchases as f64 / seconds,
        failures: failures.load(Ordering::Relaxed),
        cpu,
        loaded_rss_kib,
        db_work: None,
    };
    progress(format_args!(
        "pipeline: {:.1} purchases/s ({} failures); CPU: {}",
        pipeline.per_second,
        pipeline.failures,
        cpu::summary(&pipeline.cpu, 4)
    ));
    Ok(pipeline)
}
