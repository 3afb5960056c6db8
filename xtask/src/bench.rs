//! `cargo xtask bench`: the benchmark suite, on this machine, against release binaries.
//!
//! In order: find (or apt-install) wrk and the servers; build the services and the
//! `ticketing-bench` crate in release mode (timed); then for each part of the suite ([`PARTS`])
//! start a fresh stack as `up` does, on a free port with fresh data under `target/bench/`, the
//! children's output going to a log file there, run `ticketing-bench <part>` against it, and
//! stop it; then `ticketing-bench report` writes `bench/results/<date>.json` and `<date>.md`.
//!
//! With `--against <rev>`, the commit `rev` names is extracted under `target/bench-against/`
//! (kept for the next run), built in release mode into its own target directory, and each part
//! runs for both trees in turn, on fresh stacks, the first tree alternating from part to part:
//! the report gives each headline figure of both and their ratio, from one run. Then a stack of
//! each tree runs at once and the `paired` part measures them round by round in turn, for the
//! ratios of a few percent.
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

/// The parts of the suite, in run order, each measured on a fresh stack so that what one writes
/// does not slow the next (`ticketing-bench <part>`; see its `report::parts`).
const PARTS: [&str; 5] = ["stack", "catalogue", "purchases", "work", "expiration"];

/// The part of a side-by-side run that measures both trees at once, each on a stack of its own,
/// alternating between them round by round: the ratios of a few percent that the parts, minutes
/// apart, cannot tell from the machine's drift (`ticketing-bench paired`).
const PAIRED_PART: &str = "paired";

/// The part measured last, for this tree only, on a stack whose NATS is a cluster of
/// [`up::CLUSTER_NODES`]: the bus's figures beside the single server's.
const CLUSTER_PART: &str = "cluster";

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// How long each wrk run lasts, in seconds.
    #[arg(long, default_value_t = DEFAULT_SECONDS, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
    /// Also measure this git revision, part for part in turn with this tree, and report the
    /// ratios.
    #[arg(long, value_name = "REV")]
    against: Option<String>,
    /// Run this part alone (to measure one figure again) and write its results under
    /// `target/bench/parts/` instead of a report.
    #[arg(long, value_name = "PART",
          value_parser = clap::builder::PossibleValuesParser::new(PARTS.into_iter().chain([PAIRED_PART, CLUSTER_PART])))]
    only: Option<String>,
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
    if options.only.as_deref() == Some(PAIRED_PART) && options.against.is_none() {
        bail!("--only {PAIRED_PART} measures two trees: it needs --against <rev>");
    }
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

    let target = crate::infra::target_dir(&workspace.root, std::env::var_os("CARGO_TARGET_DIR"));
    let against = match &options.against {
        Some(rev) => Some(other_tree(&workspace, &target, rev, stop)?),
        None => None,
    };
    stop.check()?;

    let dir = target.join("bench");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("could not clear {}", dir.display()))?;
    }
    let work_dir = dir.join("work");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("could not create {}", work_dir.display()))?;
    let common = Common {
        tools: &tools,
        stop,
        bench: &bench,
        wrk: &wrk,
        dir: &dir,
        seconds: options.seconds,
    };
    let ours = Tree {
        name: "ours",
        workspace: &workspace,
    };
    let mut trees = vec![ours];
    if let Some(other) = &against {
        trees.push(Tree {
            name: "theirs",
            workspace: &other.workspace,
        });
    }
    let chosen = |part: &str| options.only.as_deref().is_none_or(|only| only == part);
    for (index, part) in PARTS.into_iter().enumerate() {
        if !chosen(part) {
            continue;
        }
        // Alternating which tree goes first: neither always meets the warmer machine.
        let mut order: Vec<&Tree<'_>> = trees.iter().collect();
        if index % 2 == 1 {
            order.reverse();
        }
        for tree in order {
            let name = if trees.len() == 1 {
                part.to_owned()
            } else {
                format!("{part}-{}", tree.name)
            };
            common.against_stack(tree, &name, part, 1)?;
        }
    }
    if let [ours, theirs] = trees.as_slice()
        && chosen(PAIRED_PART)
    {
        common.paired(ours, theirs)?;
    }
    if chosen(CLUSTER_PART) {
        common.against_stack(&trees[0], CLUSTER_PART, CLUSTER_PART, up::CLUSTER_NODES)?;
    }
    if let Some(part) = &options.only {
        console::step(format_args!(
            "{part} measured: {} (no report from one part)",
            dir.join("parts").display()
        ));
        return Ok(());
    }

    let results = workspace.root.join("bench").join("results");
    let mut report = Command::new(&bench);
    report
        .args(["report", "--parts"])
        .arg(common.parts_of("ours"))
        .arg("--dir")
        .arg(&results)
        .arg(format!("--build-seconds={build_seconds:.1}"))
        .arg(format!(
            "--total-seconds={:.1}",
            started.elapsed().as_secs_f64()
        ));
    if let Some(OtherTree { commit, .. }) = &against {
        report
            .arg(format!("--against={commit}"))
            .arg("--against-parts")
            .arg(common.parts_of("theirs"));
    }
    for command in report_commands(&services, options) {
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
fn report_commands(services: &[&str], options: &Options) -> Vec<String> {
    let packages: Vec<String> = services
        .iter()
        .chain(&[up::STAND_IN, BENCH_PACKAGE])
        .map(|name| format!("-p {name}"))
        .collect();
    let mut command = "cargo xtask bench".to_owned();
    if options.seconds != DEFAULT_SECONDS {
        command.push_str(&format!(" --seconds {}", options.seconds));
    }
    if let Some(rev) = &options.against {
        command.push_str(&format!(" --against {rev}"));
    }
    let mut commands = vec![
        command,
        format!("# builds: cargo build --release {}", packages.join(" ")),
        "# each on a fresh stack, services with RUST_LOG=warn: ticketing-bench stack, \
         ticketing-bench catalogue, ticketing-bench purchases"
            .to_owned(),
        "# and with MONGO_COMMAND_METRICS=true: ticketing-bench work".to_owned(),
        format!(
            "# and with EXPIRATION_WINDOW_SECONDS={EXPIRATION_WINDOW_SECONDS}: ticketing-bench expiration --orders {EXPIRING_ORDERS}"
        ),
        format!(
            "# and on a {}-node NATS cluster (EVENTS_REPLICAS={}): ticketing-bench {CLUSTER_PART}",
            up::CLUSTER_NODES,
            up::CLUSTER_NODES
        ),
    ];
    if options.against.is_some() {
        commands.push(
            "# each part for the other tree too, in turn, its services built from its own source \
             under target/bench-against/"
                .to_owned(),
        );
        commands.push(format!(
            "# then a stack of each tree at once, measured in turn: ticketing-bench {PAIRED_PART}"
        ));
    }
    commands
}

/// A tree whose services a part runs against: this one, or the one `--against` names.
struct Tree<'a> {
    /// `ours` or `theirs`: its parts' directory.
    name: &'static str,
    workspace: &'a Workspace,
}

/// The other tree of a side-by-side run.
struct OtherTree {
    /// Its commit's short id.
    commit: String,
    workspace: Workspace,
}

/// Extracts the commit `rev` names (unless an earlier run did) under `target/bench-against/`
/// and builds its services in release mode there.
fn other_tree(
    workspace: &Workspace,
    target: &Path,
    rev: &str,
    stop: &Stop,
) -> anyhow::Result<OtherTree> {
    let commit = git(
        &workspace.root,
        &[
            "rev-parse",
            "--verify",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .with_context(|| format!("--against {rev}: no such commit"))?;
    let short = commit.get(..12).unwrap_or(&commit).to_owned();
    let source = target.join("bench-against").join(&short);
    if !source.join("Cargo.toml").is_file() {
        console::step(format_args!(
            "extracting {rev} ({short}) into {}",
            source.display()
        ));
        let partial = source.with_extension("partial");
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .with_context(|| format!("could not clear {}", partial.display()))?;
        }
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("could not create {}", partial.display()))?;
        let archive = partial.join("source.tar");
        git(
            &workspace.root,
            &[
                "archive",
                "--format=tar",
                "-o",
                &archive.to_string_lossy(),
                &commit,
            ],
        )?;
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&partial)
            .status()
            .context("could not run tar")?;
        if !status.success() {
            bail!("tar could not extract {} ({status})", archive.display());
        }
        std::fs::remove_file(&archive)
            .with_context(|| format!("could not remove {}", archive.display()))?;
        std::fs::rename(&partial, &source)
            .with_context(|| format!("could not move {} into place", partial.display()))?;
    }
    let theirs = Workspace::load_at(&source)?;
    let mut packages: Vec<&str> = SERVICES
        .iter()
        .map(|service| service.name)
        .filter(|name| theirs.has_binary(name))
        .collect();
    packages.push(up::STAND_IN);
    console::step(format_args!(
        "building {rev} ({short}): {} (release)",
        packages.join(", ")
    ));
    cargo::build(&theirs.root, &packages, true, stop)?;
    Ok(OtherTree {
        commit: short,
        workspace: theirs,
    })
}

/// `git args` in `dir`: its standard output, trimmed.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .context("could not run git")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// What every stack of the run shares.
struct Common<'a> {
    tools: &'a Tools,
    stop: &'a Stop,
    bench: &'a Path,
    wrk: &'a Path,
    dir: &'a Path,
    seconds: u64,
}

impl Common<'_> {
    /// Where the parts of the tree called `tree` (`ours` or `theirs`) are written.
    fn parts_of(&self, tree: &str) -> PathBuf {
        self.dir.join("parts").join(tree)
    }

    /// Starts a fresh stack called `name` of `tree`'s services with `nats_nodes` NATS servers,
    /// runs `ticketing-bench <part> --out <parts of the tree>/<part>.json` against it, and
    /// stops it.
    fn against_stack(
        &self,
        tree: &Tree<'_>,
        name: &str,
        part: &str,
        nats_nodes: usize,
    ) -> anyhow::Result<()> {
        let started = self.start(tree, name, part, nats_nodes)?;
        let mut args = Vec::new();
        if part == "expiration" {
            args.push(format!("--orders={EXPIRING_ORDERS}"));
        }
        self.run_bench(tree, part, &args, &started.env, &started.log)
    }

    /// Starts a stack of each tree at once, and runs `ticketing-bench paired` against both:
    /// this tree's in `BENCH_*`, the other's in `BENCH_OTHER_*`.
    fn paired(&self, ours: &Tree<'_>, theirs: &Tree<'_>) -> anyhow::Result<()> {
        let first = self.start(ours, "paired-ours", PAIRED_PART, 1)?;
        let second = self.start(theirs, "paired-theirs", PAIRED_PART, 1)?;
        let mut env = first.env.clone();
        env.extend(
            second
                .env
                .iter()
                .map(|(key, value)| (key.replacen("BENCH_", "BENCH_OTHER_", 1), value.clone())),
        );
        self.run_bench(ours, PAIRED_PART, &[], &env, &first.log)
            .with_context(|| format!("the other stack's output is in {}", second.log.display()))
    }

    /// Starts a fresh stack called `name` of `tree`'s services with `nats_nodes` NATS servers,
    /// set for `part`: running until the answer is dropped.
    fn start(
        &self,
        tree: &Tree<'_>,
        name: &str,
        part: &str,
        nats_nodes: usize,
    ) -> anyhow::Result<Started> {
        let mut service_env = vec![("RUST_LOG", "warn".to_owned())];
        if part == "work" {
            // Counting commands costs the services (`common::mongo::Commands`): only the part
            // that reports the count pays it.
            service_env.push(("MONGO_COMMAND_METRICS", "true".to_owned()));
        }
        if part == "expiration" {
            service_env.push((
                "EXPIRATION_WINDOW_SECONDS",
                EXPIRATION_WINDOW_SECONDS.to_string(),
            ));
        }
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
            nats_nodes,
            copy_output_to: None,
        };
        let log = self.dir.join(format!("{name}.log"));
        console::step(format_args!(
            "starting the {name} stack (its output: {})",
            log.display()
        ));
        let stack = up::start_logging_to(tree.workspace, self.tools, &settings, self.stop, &log)?;
        let servers: Vec<String> = stack
            .servers()
            .into_iter()
            .map(|(name, pid)| format!("{name}:{pid}"))
            .collect();
        let services: Vec<String> = stack
            .services()
            .iter()
            .map(|process| {
                let metrics = stack.metrics_port(process.name()).unwrap_or_default();
                let (name, port, pid) = (process.name(), process.port(), process.pid());
                format!("{name}:{port}:{pid}:{metrics}")
            })
            .collect();
        let nats_url = stack.nats_url().context("NATS is not running")?;
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
            ("BENCH_NATS_URL", nats_url),
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
        Ok(Started {
            _stack: stack,
            env: env
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
            log,
        })
    }

    /// Runs `ticketing-bench <part> --out <parts of the tree>/<part>.json args` with `env`;
    /// `log` is where its stack's output went.
    fn run_bench(
        &self,
        tree: &Tree<'_>,
        part: &str,
        args: &[String],
        env: &BTreeMap<String, String>,
        log: &Path,
    ) -> anyhow::Result<()> {
        let parts = self.parts_of(tree.name);
        std::fs::create_dir_all(&parts)
            .with_context(|| format!("could not create {}", parts.display()))?;
        console::step(format_args!("ticketing-bench {part}"));
        let mut command = Command::new(self.bench);
        command
            .arg(part)
            .arg("--out")
            .arg(parts.join(format!("{part}.json")))
            .args(args)
            .envs(env);
        let status = run_child(command, self.stop)?;
        if !status.success() {
            bail!(
                "ticketing-bench {part} failed ({status}); the stack's output is in {}",
                log.display()
            );
        }
        Ok(())
    }
}

/// A stack started for a part, stopped when dropped.
struct Started {
    _stack: up::Stack,
    /// The `BENCH_*` variables that describe it to `ticketing-bench`.
    env: BTreeMap<String, String>,
    /// Where its output goes.
    log: PathBuf,
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
        let options = |seconds, against: Option<&str>| Options {
            seconds,
            against: against.map(str::to_owned),
            only: None,
        };
        let commands = report_commands(&["auth", "tickets"], &options(DEFAULT_SECONDS, None));
        assert_eq!(commands[0], "cargo xtask bench");
        assert!(commands[1].ends_with(
            "cargo build --release -p auth -p tickets -p stripe-fake -p ticketing-bench"
        ));
        for part in PARTS.into_iter().chain([CLUSTER_PART]) {
            assert!(
                commands
                    .iter()
                    .any(|command| command.contains(&format!("ticketing-bench {part}"))),
                "{part} is not in {commands:?}"
            );
        }
        assert_eq!(
            report_commands(&[], &options(5, Some("HEAD~3")))[0],
            "cargo xtask bench --seconds 5 --against HEAD~3"
        );
    }

    #[test]
    fn git_answers_with_its_output_or_its_error() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let commit = git(root, &["rev-parse", "--verify", "HEAD^{commit}"]);
        // A source tree without its history (an archive) has no HEAD: nothing to check then.
        if let Ok(commit) = commit {
            assert_eq!(commit.len(), 40, "{commit}");
            assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
        }
        let error = git(
            root,
            &["rev-parse", "--verify", "no-such-rev-anywhere^{commit}"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("git rev-parse --verify no-such-rev"),
            "{error}"
        );
    }
}
