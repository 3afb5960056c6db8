//! Each service's footprint: binary size, resident memory when idle, and how long a fresh
//! process takes from start to answering 200 on `/readyz`.
//!
//! The fresh process is the same program with the same environment as the running one (read
//! from `/proc`), on another port. It runs while the stack is idle, before any load, so the
//! queue consumers it joins have nothing in flight; it is stopped with SIGTERM.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::procfs;
use crate::scenarios::{free_port, progress};
use crate::target::{Service, Stack};

/// Starts per service; the median is reported.
const STARTS: usize = 3;
/// How long a fresh process may take to get ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

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
    let program = procfs::executable(service.pid)?;
    let environment = procfs::environment(service.pid)?;
    let port = free_port()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("could not build the HTTP client")?;
    let url = format!("http://127.0.0.1:{port}/readyz");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&program)
        .env_clear()
        .envs(environment)
        .env("PORT", port.to_string())
        // The running copy holds its metrics port: this one takes any free one.
        .env("METRICS_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("could not start {}", program.display()))?;
    let ready = loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            break started.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            bail!("a second {} exited while starting ({status})", service.name);
        }
        if started.elapsed() > READY_TIMEOUT {
            bail!(
                "a second {} was not ready within {READY_TIMEOUT:?}",
                service.name
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    stop(&mut child).await;
    Ok(ready.as_secs_f64() * 1000.0)
}

/// SIGTERM (with `kill`, no unsafe code here), then SIGKILL after a few seconds.
async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}
