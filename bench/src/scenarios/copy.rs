//! A second copy of a running service: the same program (or another build of it) with the same
//! environment (read from `/proc`), on another port, with settings of its own on top. Footprint
//! times its start; logging runs it at another log level.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::procfs;
use crate::scenarios::free_port;
use crate::target::Service;

/// How long a copy may take to get ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running copy; stopped (SIGTERM, then SIGKILL) by [`Copy::stop`], killed if dropped.
pub struct Copy {
    child: tokio::process::Child,
    /// Its API port.
    pub port: u16,
    /// How long it took from spawn to `/readyz` 200.
    pub start_to_ready: Duration,
}

impl Copy {
    /// Starts a copy of `service` (its own program, or `program`) with `settings` on top of its
    /// environment, its standard output going to `output` (discarded when `None`), and waits
    /// until it is ready.
    pub async fn start(
        service: &Service,
        program: Option<&Path>,
        settings: &[(&str, &str)],
        output: Option<&Path>,
    ) -> anyhow::Result<Copy> {
        let program = match program {
            Some(program) => program.to_owned(),
            None => procfs::executable(service.pid)?,
        };
        let environment = procfs::environment(service.pid)?;
        let port = free_port()?;
        let stdout = match output {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("could not create {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
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
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {}", program.display()))?;
        let start_to_ready = loop {
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
        Ok(Copy {
            child,
            port,
            start_to_ready,
        })
    }

    /// Its API's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (with `kill`, no unsafe code here), then SIGKILL after a few seconds.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}
