//! The ceilings beside the HTTP figures: a bare axum handler (for `currentuser`) and scrypt
//! hashes per second on every core (for `signin`); and sign-in storms, during which
//! `currentuser` should stay fast, each set against the scrypt ceilings measured on either side
//! of it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, User};
use crate::cpu::{self, Meter, ProcessCpu, Split};
use crate::scenarios::http::{CONNECTIONS, HttpResult, Via};
use crate::scenarios::{free_port, progress, quiet_machine};
use crate::stats::{median, percentages};
use crate::target::Stack;
use crate::wrk::{self, Body, Run};

/// scrypt's cost as auth uses it (`auth/src/password.rs`): log2(N) = 14, r = 8, p = 1, 64 bytes.
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SCRYPT_KEY_LEN: usize = 64;

/// How many hashes time one hash.
const SCRYPT_SAMPLES: usize = 15;

/// The scrypt ceiling for sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scrypt {
    /// The median time of one hash on one core, in milliseconds.
    pub hash_ms: f64,
    /// The cores.
    pub cores: usize,
    /// cores / hash time: the most sign-ins per second this machine can verify.
    pub per_second: f64,
    /// Hashes per second measured with every core hashing at once. Below `per_second` when
    /// the cores share what scrypt leans on (caches, memory bandwidth): then no server gets
    /// closer than this.
    #[serde(default)]
    pub all_cores_per_second: f64,
}

/// How many sign-in storms run.
const STORMS: usize = 3;

/// Sign-in storms, each between two scrypt ceilings. A shared machine's speed drifts by as much
/// as a quarter within a minute (bench/README.md), so a storm set against a single ceiling
/// measured before it compares two different machines. Each storm is set
/// against the mean of the ceilings on either side of it, and the median storm counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signin {
    /// The ceilings: one before the first storm and one after each.
    pub ceilings: Vec<Scrypt>,
    /// The storms, in order.
    pub storms: Vec<Storm>,
}

impl Signin {
    /// Each storm's sign-ins per second as a share of the mean of the ceilings either side.
    pub fn shares(&self) -> Vec<f64> {
        self.against(|ceiling| ceiling.per_second)
    }

    /// Each storm's sign-ins per second as a share of the mean of the rates measured with
    /// every core hashing at once either side: how close auth comes to what this machine's
    /// cores do together, whatever they do alone.
    pub fn shares_of_every_core(&self) -> Vec<f64> {
        self.against(|ceiling| ceiling.all_cores_per_second)
    }

    /// Each ceiling's every-core rate as a share of its one-core ceiling: how well scrypt
    /// scales over this machine's cores, with no server in the way.
    pub fn every_core_scaling(&self) -> Vec<f64> {
        self.ceilings
            .iter()
            .map(|ceiling| ceiling.all_cores_per_second / ceiling.per_second)
            .collect()
    }

    /// Each storm's rate over the mean of `rate` for the ceilings either side.
    fn against(&self, rate: impl Fn(&Scrypt) -> f64) -> Vec<f64> {
        self.storms
            .iter()
            .zip(self.ceilings.windows(2))
            .map(|(storm, around)| {
                let ceiling = (rate(&around[0]) + rate(&around[1])) / 2.0;
                storm.signin.per_second / ceiling
            })
            .collect()
    }

    /// The shares in percent, in order: `84%, 82%, 83%`.
    pub fn shares_in_percent(&self) -> String {
        percentages(&self.shares())
    }

    /// The median share (the lower middle of an even count).
    pub fn median_share(&self) -> Option<f64> {
        median(self.shares())
    }

    /// The storm with the slowest `currentuser` p99.
    pub fn worst_currentuser(&self) -> Option<&Storm> {
        self.storms
            .iter()
            .max_by_key(|storm| storm.currentuser.wrk.p99_us)
    }
}

/// `currentuser` under a sign-in storm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Storm {
    /// Sign-ins during the storm (wrk, direct to auth).
    pub signin: HttpResult,
    /// `GET /api/users/currentuser` at the same time.
    pub currentuser: HttpResult,
    /// Who used the CPU meanwhile, auth's hashing threads apart from the rest of it, busiest
    /// first; the rest of the machine (the two wrk, the bench) last.
    #[serde(default)]
    pub cpu: Vec<ProcessCpu>,
}

/// The bare axum handler at every concurrency level, direct.
pub async fn hello(stack: &Stack) -> anyhow::Result<Vec<HttpResult>> {
    let program = std::env::current_exe()
        .context("could not find this program")?
        .with_file_name("hello");
    let port = free_port()?;
    let mut child = tokio::process::Command::new(&program)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("could not start {}", program.display()))?;
    let url = format!("http://127.0.0.1:{port}/");
    wait_until_answering(&url).await?;
    let mut results = Vec::new();
    for connections in CONNECTIONS {
        let run = Run {
            url: url.clone(),
            connections,
            duration: stack.run_time,
            cookie: None,
            body: Body::Get,
        };
        let name = format!("hello-c{connections}");
        let output = wrk::run(&stack.wrk, &stack.work_dir, &name, &run).await?;
        progress(format_args!(
            "{:<28} {:<7} c={:<3} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            "bare axum GET /",
            "direct",
            connections,
            output.ok_per_second(),
            output.p50_us as f64 / 1000.0,
            output.p99_us as f64 / 1000.0,
        ));
        results.push(HttpResult {
            endpoint: "bare axum GET /".to_owned(),
            via: Via::Direct,
            connections,
            per_second: output.ok_per_second(),
            wrk: output,
            command: wrk::display_command(&run, &format!("{name}.lua")),
            database_cpu_us: None,
        });
    }
    child
        .kill()
        .await
        .context("could not stop the bare axum server")?;
    Ok(results)
}

async fn wait_until_answering(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Times one scrypt hash (the median of a few, on a blocking thread) and scales it to every core;
/// then measures every core hashing at once.
async fn scrypt() -> anyhow::Result<Scrypt> {
    let hash_ms = tokio::task::spawn_blocking(|| -> anyhow::Result<f64> {
        let mut times = Vec::with_capacity(SCRYPT_SAMPLES);
        for _ in 0..SCRYPT_SAMPLES {
            let start = Instant::now();
            hash_once()?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    })
    .await
    .context("the scrypt timing panicked")??;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let per_second = cores as f64 * 1000.0 / hash_ms;
    let all_cores_per_second = tokio::task::spawn_blocking(move || all_cores(cores))
        .await
        .context("the scrypt timing panicked")??;
    progress(format_args!(
        "scrypt: {hash_ms:.1} ms a hash, ceiling {per_second:.1} sign-ins/s on {cores} cores; \
         {all_cores_per_second:.1}/s measured with every core hashing"
    ));
    Ok(Scrypt {
        hash_ms,
        cores,
        per_second,
        all_cores_per_second,
    })
}

/// Hashes per second with `cores` threads each hashing [`SCRYPT_SAMPLES`] times.
fn all_cores(cores: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores)
            .map(|_| scope.spawn(|| (0..SCRYPT_SAMPLES).try_for_each(|_| hash_once())))
            .collect();
        threads.into_iter().try_for_each(|thread| {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?
        })
    })?;
    Ok((cores * SCRYPT_SAMPLES) as f64 / start.elapsed().as_secs_f64())
}

/// One hash with auth's parameters.
fn hash_once() -> anyhow::Result<()> {
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_LEN)
        .map_err(|_| anyhow::anyhow!("invalid scrypt parameters"))?;
    let mut key = [0_u8; SCRYPT_KEY_LEN];
    scrypt::scrypt(b"bench-password", b"0123456789abcdef", &params, &mut key)
        .map_err(|_| anyhow::anyhow!("invalid scrypt output length"))
}

/// How auth's password-hashing threads are named (`auth/src/password.rs`: `scrypt-0`, …).
const HASHING_THREADS: &str = "scrypt-";

/// Connections asking `currentuser` during the storm, each pausing [`STORM_READ_DELAY_MS`]
/// between requests: the users browsing meanwhile, not a second storm.
const STORM_READ_CONNECTIONS: u32 = 8;
const STORM_READ_DELAY_MS: u32 = 10;

/// A scrypt ceiling, then [`STORMS`] times a sign-in storm and a ceiling after it, each on a
/// quiet machine.
pub async fn signin(stack: &Stack) -> anyhow::Result<Signin> {
    let user = Api::new(&stack.ingress)?.sign_up("storm").await?;
    quiet_machine("the scrypt ceiling").await?;
    let mut ceilings = vec![scrypt().await?];
    let mut storms = Vec::with_capacity(STORMS);
    for _ in 0..STORMS {
        quiet_machine("the storm").await?;
        storms.push(storm(stack, &user).await?);
        quiet_machine("the scrypt ceiling").await?;
        ceilings.push(scrypt().await?);
    }
    let signin = Signin { ceilings, storms };
    progress(format_args!(
        "sign-ins as a share of the ceilings either side: {}",
        signin.shares_in_percent()
    ));
    Ok(signin)
}

/// Sign-ins at 16 connections and, at the same time, `currentuser` at a steady pace, both
/// direct to auth.
async fn storm(stack: &Stack, user: &User) -> anyhow::Result<Storm> {
    let auth = stack.service("auth")?.url();
    let signin = Run {
        url: format!("{auth}/api/users/signin"),
        connections: 16,
        duration: stack.run_time,
        cookie: None,
        body: Body::Post(json!({"email": user.email, "password": user.password}).to_string()),
    };
    let currentuser = Run {
        url: format!("{auth}/api/users/currentuser"),
        connections: STORM_READ_CONNECTIONS,
        duration: stack.run_time,
        cookie: Some(&user.cookie),
        body: Body::Get,
    };
    let meter = Meter::start(
        stack,
        &[],
        Some(Split {
            service: "auth",
            prefix: HASHING_THREADS,
            label: "auth: scrypt threads",
        }),
    );
    let (signin_output, currentuser_output) = tokio::try_join!(
        wrk::run(&stack.wrk, &stack.work_dir, "storm-signin", &signin),
        wrk::run_paced(
            &stack.wrk,
            &stack.work_dir,
            "storm-currentuser",
            &currentuser,
            STORM_READ_DELAY_MS
        ),
    )?;
    let cpu = meter.stop();
    progress(format_args!(
        "sign-in storm: {:.1} sign-ins/s; currentuser meanwhile {:.0}/s, p50 {:.2} ms, p99 {:.2} ms; \
         CPU: {}",
        signin_output.ok_per_second(),
        currentuser_output.ok_per_second(),
        currentuser_output.p50_us as f64 / 1000.0,
        currentuser_output.p99_us as f64 / 1000.0,
        cpu::summary(&cpu, 4),
    ));
    let result = |run: &Run<'_>, command: String, endpoint: &str, output: wrk::Output| HttpResult {
        endpoint: endpoint.to_owned(),
        via: Via::Direct,
        connections: run.connections,
        per_second: output.ok_per_second(),
        wrk: output,
        command,
        database_cpu_us: None,
    };
    let paced = format!(
        "{}  # each connection pausing {STORM_READ_DELAY_MS} ms between requests",
        wrk::display_command(&currentuser, "storm-currentuser.lua")
    );
    Ok(Storm {
        signin: result(
            &signin,
            wrk::display_command(&signin, "storm-signin.lua"),
            "POST /api/users/signin",
            signin_output,
        ),
        currentuser: result(
            &currentuser,
            paced,
            "GET /api/users/currentuser",
            currentuser_output,
        ),
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ceiling, storm};

    #[test]
    fn each_storm_is_set_against_the_ceilings_either_side() {
        let signin = Signin {
            ceilings: vec![ceiling(40.0), ceiling(60.0), ceiling(40.0)],
            storms: vec![storm(45.0, 3_000), storm(40.0, 5_000)],
        };
        assert_eq!(signin.shares(), [0.9, 0.8]);
        assert_eq!(signin.shares_in_percent(), "90%, 80%");
        assert_eq!(signin.median_share(), Some(0.8), "the lower middle of two");
        // The fixtures' every-core rate is 90% of each ceiling.
        assert_eq!(signin.every_core_scaling(), [0.9, 0.9, 0.9]);
        let of_every_core: Vec<String> = signin
            .shares_of_every_core()
            .iter()
            .map(|share| format!("{share:.3}"))
            .collect();
        assert_eq!(of_every_core, ["1.000", "0.889"]);
        assert_eq!(
            signin
                .worst_currentuser()
                .map(|storm| storm.currentuser.wrk.p99_us),
            Some(5_000)
        );
    }

    #[test]
    fn no_storm_no_share() {
        let signin = Signin {
            ceilings: vec![ceiling(40.0)],
            storms: Vec::new(),
        };
        assert_eq!(signin.median_share(), None);
        assert!(signin.shares_of_every_core().is_empty());
        assert_eq!(signin.every_core_scaling(), [0.9]);
        assert!(signin.worst_currentuser().is_none());
    }
}
