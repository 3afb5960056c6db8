//! `cargo xtask e2e`, also the last step of `cargo xtask test`: the browser test, the metrics
//! check, then the API fuzzer.
//!
//! Finds (or, as root on Debian, apt-installs) `chromium` and `chromium-driver`, starts the
//! local stack as `up` does, on a free port with fresh data and a short
//! `EXPIRATION_WINDOW_SECONDS`, runs the client's `e2e` test binary against it (with
//! `E2E_BASE_URL`), checks that Prometheus scrapes every service and the ingress serves no
//! metrics ([`crate::metrics_check`]), that one purchase is one trace in the services' JSON
//! log lines ([`crate::trace_check`]), then fuzzes each service's API ([`crate::fuzz`]), and
//! stops everything.
//! Screenshots land in `target/e2e-artifacts/<run>/`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use devservers::find_program;

use crate::cargo::{self, Workspace};
use crate::console;
use crate::services::ingress_url;
use crate::stop::{Interrupted, Stop};
use crate::tools::{self, Purpose};
use crate::up::{self, StackSettings};

/// Long enough to sign in and pay, short enough to watch an order expire.
pub(crate) const EXPIRATION_WINDOW_SECONDS: u64 = 25;

/// The Debian packages of the browser and its WebDriver.
const BROWSER_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// The browser programs found.
#[derive(Debug)]
struct BrowserTools {
    /// The browser binary.
    chrome: PathBuf,
    /// `chromedriver`.
    driver: PathBuf,
}

/// Runs the browser test against a fresh local stack; `on_line` sees each line of its output.
pub(crate) fn run(
    workspace: &Workspace,
    on_line: &mut dyn FnMut(&str),
) -> anyhow::Result<ExitStatus> {
    let stop = Stop::on_signals()?;
    let result = run_with(workspace, &stop, on_line);
    if stop.requested() {
        console::step("stopped");
    }
    result
}

/// `cargo xtask e2e`: the browser test alone; exits as it does.
pub(crate) fn run_alone() -> anyhow::Result<std::process::ExitCode> {
    let workspace = Workspace::load()?;
    let status = run(&workspace, &mut |_| {})?;
    Ok(if status.success() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

fn run_with(
    workspace: &Workspace,
    stop: &Stop,
    on_line: &mut dyn FnMut(&str),
) -> anyhow::Result<ExitStatus> {
    let browser = locate_or_install_browser()?;
    let tools = tools::locate_or_install(Purpose::Up)?;
    let target = target_dir(&workspace.root);
    let data_dir = target.join("e2e-stack");
    // A fresh platform each time: no users or tickets left from an earlier run.
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("could not clear {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("could not create {}", data_dir.display()))?;
    let output = data_dir.join("output.log");
    let settings = StackSettings {
        port: devservers::free_port()?,
        data_dir,
        // The services the tests just built: no release build of the whole fleet.
        release: false,
        service_env: vec![
            (
                "EXPIRATION_WINDOW_SECONDS",
                EXPIRATION_WINDOW_SECONDS.to_string(),
            ),
            // The fuzzer bans and unbans as an admin.
            ("ADMIN_EMAILS", crate::fuzz::ADMIN_EMAIL.to_owned()),
            // NATS reserves the streams' bounds out of a store sized by the host's free disk;
            // the test writes a few kilobytes, and must not fail on a nearly full disk.
            ("EVENTS_MAX_BYTES", (16 * 1024 * 1024).to_string()),
            // JSON lines with their trace ids, for the trace check.
            ("LOG_FORMAT", "json".to_owned()),
        ],
        nats_nodes: 1,
        copy_output_to: Some(output.clone()),
    };
    stop.check()?;
    let stack = up::start(workspace, &tools, &settings, stop)?;
    let base_url = ingress_url(settings.port);
    let artifacts = target.join("e2e-artifacts");
    console::step(format_args!("browser test against {base_url}"));
    let mut command = cargo::command();
    command
        .current_dir(&workspace.root)
        .args(test_args())
        .env("E2E_BASE_URL", &base_url)
        .env("E2E_SERVICES", stack.service_names().join(","))
        .env(
            "E2E_EXPIRATION_WINDOW_SECONDS",
            EXPIRATION_WINDOW_SECONDS.to_string(),
        )
        .env("E2E_ARTIFACTS_DIR", &artifacts)
        .env("E2E_STRIPE_URL", stack.stripe_url().unwrap_or_default())
        .env("CHROME", &browser.chrome)
        .env("CHROMEDRIVER", &browser.driver);
    let mut status = run_passing_output(command, stop, on_line)?;
    console::step(format_args!("screenshots: {}", artifacts.display()));
    // The metrics, whatever the browser test gave: by now Prometheus has scraped for a while.
    if let Err(error) = crate::metrics_check::run(&stack, settings.port) {
        console::error(format_args!("{error:#}"));
        status = ExitStatus::from_raw(1 << 8);
    }
    // One purchase's trace through the fleet's logs.
    if let Err(error) = crate::trace_check::run(settings.port, &output) {
        console::error(format_args!("{error:#}"));
        status = ExitStatus::from_raw(1 << 8);
    }
    // Then the fuzzer, against the same stack.
    if status.success() && !crate::fuzz::run(&workspace.root, &target, &stack)? {
        status = ExitStatus::from_raw(1 << 8);
    }
    drop(stack);
    Ok(status)
}

/// `cargo test` of the client's browser test alone, with the whole run's features: one test at a
/// time, output shown.
fn test_args() -> [&'static str; 8] {
    // `--workspace` rather than `--package client`: features resolved as in the whole run, so
    // the browser test reuses its build (for the client alone, cargo rebuilt half the graph).
    [
        "test",
        "--workspace",
        "--locked",
        "--test",
        "e2e",
        "--",
        "--test-threads=1",
        "--nocapture",
    ]
}

/// Runs `command`, passing its stdout through `on_line` and to ours; a stop request interrupts it.
fn run_passing_output(
    mut command: Command,
    stop: &Stop,
    on_line: &mut dyn FnMut(&str),
) -> anyhow::Result<ExitStatus> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .context("could not run cargo test")?;
    let stdout = child.stdout.take().context("cargo test has no stdout")?;
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout();
    let status = loop {
        while let Ok(line) = received.try_recv() {
            on_line(&line);
            let _ = writeln!(out, "{line}");
        }
        if let Some(status) = child.try_wait().context("lost track of cargo test")? {
            break status;
        }
        if stop.wait(Duration::from_millis(100)) {
            devservers::process::signal(child.id(), libc::SIGINT);
            let _ = child.wait();
            return Err(Interrupted.into());
        }
    };
    let _ = reader.join();
    for line in received.try_iter() {
        on_line(&line);
        let _ = writeln!(out, "{line}");
    }
    Ok(status)
}

/// `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
fn target_dir(root: &Path) -> PathBuf {
    crate::infra::target_dir(root, std::env::var_os("CARGO_TARGET_DIR"))
}

/// Finds chromium and chromedriver, installing Debian's packages when we may.
fn locate_or_install_browser() -> anyhow::Result<BrowserTools> {
    if let Some(found) = locate_browser() {
        return Ok(found);
    }
    if tools::can_use_apt() {
        // A failure here is reported below, as what is still missing.
        if let Err(error) = tools::apt_install(&BROWSER_PACKAGES) {
            console::error(format_args!("{error:#}"));
        }
    }
    locate_browser().with_context(|| missing_browser_report(tools::is_root()))
}

fn locate_browser() -> Option<BrowserTools> {
    let driver = find_program("chromedriver")?;
    // Debian's /usr/bin/chromium is a wrapper script around /usr/lib/chromium/chromium; both
    // work for chromedriver, the binary itself without the script's start-up checks.
    let debian = Path::new("/usr/lib/chromium/chromium");
    let chrome = if debian.is_file() {
        debian.to_path_buf()
    } else {
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find_map(find_program)?
    };
    Some(BrowserTools { chrome, driver })
}

/// What to run when the browser is missing and we cannot install it.
fn missing_browser_report(root: bool) -> String {
    let sudo = if root { "" } else { "sudo " };
    format!(
        "missing: chromium and chromedriver, for the browser test\ninstall on Debian or Ubuntu with:\n    {sudo}apt-get install -y --no-install-recommends {}",
        BROWSER_PACKAGES.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_how_to_install_the_browser() {
        let report = missing_browser_report(false);
        assert!(report.contains(
            "\n    sudo apt-get install -y --no-install-recommends chromium chromium-driver"
        ));
        assert!(!missing_browser_report(true).contains("sudo"));
    }

    #[test]
    fn the_browser_test_runs_alone_with_its_output() {
        let args = test_args();
        assert_eq!(
            &args[..5],
            ["test", "--workspace", "--locked", "--test", "e2e"]
        );
        assert!(args.contains(&"--test-threads=1") && args.contains(&"--nocapture"));
    }

    #[test]
    fn the_target_dir_follows_cargo_target_dir_or_defaults_to_target() {
        let root = Path::new("/w");
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => assert_eq!(target_dir(root), root.join(dir)),
            _ => assert_eq!(target_dir(root), root.join("target")),
        }
    }
}
