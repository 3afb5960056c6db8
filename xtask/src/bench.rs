//! `cargo xtask bench`: the benchmark suite, on this machine, against release binaries.
//!
//! In order: find (or apt-install) wrk and the servers; build the services and the
//! `ticketing-bench` crate in release mode (timed); start the stack as `up` does, on a free port
//! with fresh data under `target/bench/`, the children's output going to a log file there, and
//! run `ticketing-bench stack` against it; stop it and start another whose orders expire after
//! [`EXPIRATION_WINDOW_SECONDS`], for `ticketing-bench expiration`; then `ticketing-bench report`
//! writes `bench/results/<date>.json` and `<date>.md`.
//!
//! The services log at `warn` during the bench: at tens of thousands of requests a second, one
//! line per request would measure the log pipe to xtask rather than the services.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use devservers::find_program;

use crate::cargo::{self, Workspace};
use crate::console;
use crate::services::{self, SERVICES};
use crate::stop::{Interrupted, Stop};
use crate::tools::{self, Purpose, Tools};
use crate::up::{self, StackSettings};

/// Orders expire this long after they are placed on the expiration stack.
const EXPIRATION_WINDOW_SECONDS: u64 = 20;

/// Orders let expire on the expiration stack.
const EXPIRING_ORDERS: usize = 1000;

/// How long each wrk run lasts by default: 2 s is thousands of requests for all but sign-in
/// (40 and more for it), and keeps a whole run on a fresh clone within its 15 minutes on two
/// cores (bench/README.md).
const DEFAULT_SECONDS: u64 = 2;

/// The bench's own package and its binary.
const BENCH_PACKAGE: &str = "ticketing-bench";

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// How long each wrk run lasts, in seconds.
    #[arg(long, default_value_t = DEFAULT_SECONDS, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
}

/// Runs the whole suite; exits 0 once the results are written.
pub(crate) fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let stop = Stop::on_signals()?;
    let result = run_until_stopped(options, &stop, started);
    if stop.requested() {
        console::step("stopped");
    }
    result.map(|()| ExitCode::SUCCESS)
}

fn run_until_stopped(options: &Options, stop: &Stop, started: Instant) -> anyhow::Result<()> {
    let workspace = Workspace::load()?;
    let wrk = locate_or_install_wrk()?;
    let tools = tools::locate_or_install(Purpose::Up)?;
    stop.check()?;

    let build_started = Instant::now();
    let services: Vec<&str> = SERVICES
        .iter()
        .map(|service| service.name)
        .filter(|name| workspace.has_binary(name))
        .collect();
    console::step(format_args!(
        "building {} and the bench (release)",
        services.join(", ")
    ));
    // One cargo run for all: the bench's dependencies build beside the services' on every core.
    let packages: Vec<&str> = services
        .iter()
        .copied()
        .chain([up::STAND_IN, BENCH_PACKAGE])
        .collect();
    let bench = cargo::build(&workspace.root, &packages, true, stop)?
        .remove(BENCH_PACKAGE)
        .context("cargo build produced no ticketing-bench binary")?;
    let build_seconds = build_started.elapsed().as_secs_f64();
    console::detail(format_args!("release build: {build_seconds:.0} s"));

    let dir = crate::infra::target_dir(&workspace.root, std::env::var_os("CARGO_TARGET_DIR"))
        .join("bench");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("could not clear {}", dir.display()))?;
    }
    let work_dir = dir.join("work");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("could not create {}", work_dir.display()))?;
    let common = Common {
        workspace: &workspace,
        tools: &tools,
        stop,
        bench: &bench,
        wrk: &wrk,
        dir: &dir,
        seconds: options.seconds,
    };

    let stack_part = dir.join("stack.json");
    common.against_stack(
        "stack",
        Vec::new(),
        &["stack", "--out", &stack_part.to_string_lossy()],
    )?;
    let expiration_part = dir.join("expiration.json");
    common.against_stack(
        "expiration",
        vec![(
            "EXPIRATION_WINDOW_SECONDS",
            EXPIRATION_WINDOW_SECONDS.to_string(),
        )],
        &[
            "expiration",
            "--out",
            &expiration_part.to_string_lossy(),
            "--orders",
            &EXPIRING_ORDERS.to_string(),
        ],
    )?;

    let results = workspace.root.join("bench").join("results");
    let mut report = Command::new(&bench);
    report
        .args(["report", "--stack"])
        .arg(&stack_part)
        .arg("--expiration")
        .arg(&expiration_part)
        .arg("--dir")
        .arg(&results)
        .arg(format!("--build-seconds={build_seconds:.1}"))
        .arg(format!(
            "--total-seconds={:.1}",
            started.elapsed().as_secs_f64()
        ));
    for command in report_commands(&services, options.seconds) {
        report.arg(format!("--command={command}"));
    }
    let status = run_child(report, stop)?;
    if !status.success() {
        bail!("ticketing-bench report failed ({status})");
    }
    console::step(format_args!(
        "results in {} ({:.0} s in all)",
        results.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// What the summary lists as the commands that made it (the wrk commands come with the results).
fn report_commands(services: &[&str], seconds: u64) -> Vec<String> {
    let packages: Vec<String> = services
        .iter()
        .chain(&[up::STAND_IN, BENCH_PACKAGE])
        .map(|name| format!("-p {name}"))
        .collect();
    let option = if seconds == DEFAULT_SECONDS {
        String::new()
    } else {
        format!(" --seconds {seconds}")
    };
    vec![
        format!("cargo xtask bench{option}"),
        format!("# builds: cargo build --release {}", packages.join(" ")),
        "# stack 1 (services with RUST_LOG=warn): ticketing-bench stack".to_owned(),
        format!(
            "# stack 2 (EXPIRATION_WINDOW_SECONDS={EXPIRATION_WINDOW_SECONDS}): ticketing-bench expiration --orders {EXPIRING_ORDERS}"
        ),
    ]
}

/// What every stack of the run shares.
struct Common<'a> {
    workspace: &'a Workspace,
    tools: &'a Tools,
    stop: &'a Stop,
    bench: &'a Path,
    wrk: &'a Path,
    dir: &'a Path,
    seconds: u64,
}

impl Common<'_> {
    /// Starts a fresh stack called `name` with `service_env`, runs `ticketing-bench args`
    /// against it, and stops it.
    fn against_stack(
        &self,
        name: &str,
        mut service_env: Vec<(&'static str, String)>,
        args: &[&str],
    ) -> anyhow::Result<()> {
        service_env.push(("RUST_LOG", "warn".to_owned()));
        // Rate limits raised far above the bench's load (its sign-in storms repeat one email
        // from 127.0.0.1, its pipeline pays as one user), but kept on, so the figures include
        // their cost.
        for limit in [
            "RATE_LIMIT_AUTH_PER_ADDRESS",
            "RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS",
            "RATE_LIMIT_SIGN_IN_PER_EMAIL",
            "RATE_LIMIT_PAYMENTS_PER_ORDER",
            "RATE_LIMIT_PAYMENTS_PER_USER",
        ] {
            service_env.push((limit, "100000 then 100000/1s".to_owned()));
        }
        // Its pipeline buys as few users, each holding many unpaid orders at once.
        service_env.push(("MAX_UNPAID_ORDERS", "100000".to_owned()));
        let window = service_env
            .iter()
            .find(|(key, _)| *key == "EXPIRATION_WINDOW_SECONDS")
            .map_or_else(|| "900".to_owned(), |(_, value)| value.clone());
        let data_dir = self.dir.join(name);
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("could not create {}", data_dir.display()))?;
        let settings = StackSettings {
            port: devservers::free_port()?,
            data_dir,
            release: true,
            service_env,
        };
        let log = self.dir.join(format!("{name}.log"));
        console::step(format_args!(
            "starting the {name} stack (its output: {})",
            log.display()
        ));
        let stack = up::start_logging_to(self.workspace, self.tools, &settings, self.stop, &log)?;
        let servers: Vec<String> = stack
            .servers()
            .into_iter()
            .map(|(name, pid)| format!("{name}:{pid}"))
            .collect();
        let services: Vec<String> = stack
            .services()
            .iter()
            .map(|process| format!("{}:{}:{}", process.name(), process.port(), process.pid()))
            .collect();
        let nats_port = stack.nats_port().context("NATS is not running")?;
        // The bench's catalogue scenario stores tickets in the tickets database as the service
        // itself connects to it.
        let tickets_mongo_uri = SERVICES
            .iter()
            .find(|service| service.name == "tickets")
            .and_then(|tickets| stack.mongo_uri(tickets))
            .context("the stack has no tickets database")?;
        let env = BTreeMap::from([
            ("BENCH_INGRESS_URL", services::ingress_url(settings.port)),
            ("BENCH_SERVICES", services.join(",")),
            ("BENCH_SERVERS", servers.join(",")),
            ("BENCH_NATS_URL", services::nats_url(nats_port)),
            (
                "BENCH_NATS_OPERATOR_PASSWORD",
                stack.nats_operator_password().to_owned(),
            ),
            ("BENCH_TICKETS_MONGO_URI", tickets_mongo_uri),
            ("BENCH_WRK", self.wrk.to_string_lossy().into_owned()),
            (
                "BENCH_WORK_DIR",
                self.dir.join("work").to_string_lossy().into_owned(),
            ),
            ("BENCH_SECONDS", self.seconds.to_string()),
            ("BENCH_EXPIRATION_WINDOW_SECONDS", window),
        ]);
        console::step(format_args!("ticketing-bench {}", args[0]));
        let mut command = Command::new(self.bench);
        command.args(args).envs(env);
        let status = run_child(command, self.stop)?;
        drop(stack);
        if !status.success() {
            bail!(
                "ticketing-bench {} failed ({status}); the stack's output is in {}",
                args[0],
                log.display()
            );
        }
        Ok(())
    }
}

/// Runs `command` with our stdout and stderr; a stop request interrupts it.
fn run_child(mut command: Command, stop: &Stop) -> anyhow::Result<ExitStatus> {
    let mut child = command.spawn().context("could not run ticketing-bench")?;
    loop {
        if let Some(status) = child.try_wait().context("lost track of ticketing-bench")? {
            return Ok(status);
        }
        if stop.wait(Duration::from_millis(100)) {
            devservers::process::signal(child.id(), libc::SIGINT);
            let _ = child.wait();
            return Err(Interrupted.into());
        }
    }
}

/// Finds wrk, installing Debian's package when we may.
fn locate_or_install_wrk() -> anyhow::Result<PathBuf> {
    if let Some(found) = find_program("wrk") {
        return Ok(found);
    }
    if tools::can_use_apt() {
        // A failure here is reported below, as wrk still missing.
        if let Err(error) = tools::apt_install(&["wrk"]) {
            console::error(format_args!("{error:#}"));
        }
    }
    find_program("wrk").with_context(|| missing_wrk_report(tools::is_root()))
}

/// What to run when wrk is missing and we cannot install it.
fn missing_wrk_report(root: bool) -> String {
    let sudo = if root { "" } else { "sudo " };
    format!(
        "missing: wrk, the HTTP load generator\ninstall on Debian or Ubuntu with:\n    {sudo}apt-get install -y --no-install-recommends wrk"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_how_to_install_wrk() {
        assert!(
            missing_wrk_report(false)
                .contains("\n    sudo apt-get install -y --no-install-recommends wrk")
        );
        assert!(!missing_wrk_report(true).contains("sudo"));
    }

    #[test]
    fn the_summary_names_the_command_and_what_it_built() {
        let commands = report_commands(&["auth", "tickets"], DEFAULT_SECONDS);
        assert_eq!(commands[0], "cargo xtask bench");
        assert!(commands[1].ends_with(
            "cargo build --release -p auth -p tickets -p stripe-fake -p ticketing-bench"
        ));
        assert_eq!(report_commands(&[], 5)[0], "cargo xtask bench --seconds 5");
    }
}
