//! Each service's footprint: binary size, resident memory when idle, and how long a fresh
//! process takes from start to answering 200 on `/readyz`.
//!
//! The fresh process is a [`Copy`] of the running one. It runs while the stack is idle, before
//! any load, so the queue consumers it joins have nothing in flight; it is stopped with SIGTERM.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::procfs;
use crate::scenarios::copy::Copy;
use crate::scenarios::progress;
use crate::target::{Service, Stack};

/// Starts per service; the median is reported.
const STARTS: usize = 3;

/// One service's footprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Footprint {
    /// The service.
    pub service: String,
    /// Its binary's size, in bytes.
    pub binary_bytes: u64,
    /// Resident memory after start-up, before any load, in KiB.
    pub idle_rss_kib: u64,
    /// Resident memory at the end of the pipeline, in KiB (from [`Loaded`]).
    pub loaded_rss_kib: Option<u64>,
    /// The most it was ever resident during the purchases, in KiB (from [`Loaded`]).
    pub peak_rss_kib: Option<u64>,
    /// Start to `/readyz` 200, the median of a few starts, in milliseconds.
    pub start_to_ready_ms: f64,
    /// The slowest of those starts, in milliseconds.
    pub start_to_ready_max_ms: f64,
}

/// Idle memory, binary size and start-to-ready of every service.
pub async fn idle(stack: &Stack) -> anyhow::Result<Vec<Footprint>> {
    let mut footprints = Vec::with_capacity(stack.services.len());
    for service in &stack.services {
        let memory = procfs::memory(service.pid)?;
        let program = procfs::executable(service.pid)?;
        let binary_bytes = std::fs::metadata(&program)
            .with_context(|| format!("could not read {}", program.display()))?
            .len();
        let mut starts = Vec::with_capacity(STARTS);
        for _ in 0..STARTS {
            starts.push(start_to_ready(service).await?);
        }
        starts.sort_by(f64::total_cmp);
        let footprint = Footprint {
            service: service.name.clone(),
            binary_bytes,
            idle_rss_kib: memory.rss_kib,
            loaded_rss_kib: None,
            peak_rss_kib: None,
            start_to_ready_ms: starts[starts.len() / 2],
            start_to_ready_max_ms: starts[starts.len() - 1],
        };
        progress(format_args!(
            "footprint {:<10} binary {:>5.1} MB  idle RSS {:>5.1} MB  start to ready {:>6.1} ms (max {:.1})",
            footprint.service,
            binary_bytes as f64 / 1e6,
            footprint.idle_rss_kib as f64 / 1024.0,
            footprint.start_to_ready_ms,
            footprint.start_to_ready_max_ms,
        ));
        footprints.push(footprint);
    }
    Ok(footprints)
}

/// A service's memory under load: measured at the end of the purchases, on their own stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    /// The service.
    pub service: String,
    /// Resident at the end of the pipeline, in KiB.
    pub loaded_rss_kib: Option<u64>,
    /// The most it was ever resident, at the end of the purchases, in KiB.
    pub peak_rss_kib: Option<u64>,
}

/// Each service of `stack`'s memory now, given what the pipeline saw at its end (`loaded`).
pub fn loaded(stack: &Stack, loaded: &[(String, u64)]) -> Vec<Loaded> {
    stack
        .services
        .iter()
        .map(|service| Loaded {
            service: service.name.clone(),
            loaded_rss_kib: loaded
                .iter()
                .find(|(name, _)| *name == service.name)
                .map(|(_, kib)| *kib),
            peak_rss_kib: procfs::memory(service.pid)
                .ok()
                .map(|memory| memory.peak_kib),
        })
        .collect()
}

/// Fills in the idle footprints' figures under load.
pub fn add_loaded(footprints: &mut [Footprint], loaded: &[Loaded]) {
    for footprint in footprints {
        let measured = loaded
            .iter()
            .find(|loaded| loaded.service == footprint.service);
        footprint.loaded_rss_kib = measured.and_then(|loaded| loaded.loaded_rss_kib);
        footprint.peak_rss_kib = measured.and_then(|loaded| loaded.peak_rss_kib);
    }
}

/// Starts a second copy of `service` and times it to `/readyz` 200, in milliseconds.
async fn start_to_ready(service: &Service) -> anyhow::Result<f64> {
    let copy = Copy::start(service, None, &[], None).await?;
    let ready = copy.start_to_ready;
    copy.stop().await;
    Ok(ready.as_secs_f64() * 1000.0)
}
