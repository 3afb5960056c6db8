//! `cargo xtask test`: install what the tests need, then run every test in the workspace.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus, Stdio};

use anyhow::Context as _;

use crate::cargo::{self, Workspace};
use crate::console;
use crate::tools::{self, Purpose};

/// Runs `cargo test --workspace --locked` plus `cargo_args`, and exits as it does; a whole run
/// (no `cargo_args`) also checks the formatting and the lints, and ends with the browser test.
pub(crate) fn run(cargo_args: &[String]) -> anyhow::Result<ExitCode> {
    tools::locate_or_install(Purpose::Test)?;
    let workspace = Workspace::load()?;
    // The deployment files and the code's form first; if either is wrong, the tests still run,
    // and the run fails.
    let infra_valid = crate::infra::validate_and_report(&workspace.root);
    let code_clean = !cargo_args.is_empty() || check_code(&workspace)?;
    let args: Vec<&str> = ["test", "--workspace", "--locked"]
        .into_iter()
        .chain(cargo_args.iter().map(String::as_str))
        .collect();
    let mut tally = Tally::default();
    let mut status = cargo_test(&workspace, &args, &[], &mut tally)?;
    // Then the browser test against a local stack, once everything else passed (whole runs only).
    if status.success() && cargo_args.is_empty() {
        status = crate::e2e::run(&workspace, &mut |line| tally.add(line))?;
    }
    let _ = writeln!(std::io::stdout(), "{}", tally.summary());
    Ok(if infra_valid && code_clean {
        exit_code(status)
    } else {
        ExitCode::FAILURE
    })
}

/// The code's form, on whole runs: `cargo fmt --check` and clippy with every warning an error
/// (the workspace's lints are in its `Cargo.toml`). Whether both passed; each says what is
/// wrong.
fn check_code(workspace: &Workspace) -> anyhow::Result<bool> {
    let checks: [(&str, &[&str]); 2] = [
        ("formatting", &["fmt", "--all", "--check"]),
        (
            "lints",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    let mut clean = true;
    for (what, args) in checks {
        console::step(format_args!("{what}: cargo {}", args.join(" ")));
        let status = cargo::command()
            .current_dir(&workspace.root)
            .args(args)
            .status()
            .with_context(|| format!("could not run cargo {}", args[0]))?;
        if !status.success() {
            let component = if args[0] == "fmt" {
                "rustfmt"
            } else {
                "clippy"
            };
            console::detail(format_args!(
                "{what} failed: see above (if `{component}` is missing: \
                 `rustup component add {component}`)"
            ));
            clean = false;
        }
    }
    Ok(clean)
}

/// Runs `cargo ARGS` (a `cargo test`) in the workspace with `env` set, passing its output
/// through and counting the results into `tally`.
pub(crate) fn cargo_test(
    workspace: &Workspace,
    args: &[&str],
    env: &[(&str, String)],
    tally: &mut Tally,
) -> anyhow::Result<ExitStatus> {
    console::step(format_args!("cargo {}", args.join(" ")));
    let mut command = cargo::command();
    command.current_dir(&workspace.root).args(args);
    // The harness looks for the servers in these places too; PATH makes it explicit for anything
    // else the tests run.
    let path = extended_path(std::env::var_os("PATH"), cargo_bin());
    let mut child = command
        .env("PATH", path)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::piped())
        .spawn()
        .context("could not run cargo test")?;
    // Pass the output through, counting as it goes: cargo prints one result line per test
    // binary, the last often a doc-test run of none, so the whole run gets one closing line.
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout().lock();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            tally.add(&line);
            let _ = writeln!(out, "{line}");
        }
    }
    child.wait().context("waiting for cargo test")
}

/// Test counts summed over every `test result:` line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    /// Adds the counts of a libtest line such as
    /// `test result: ok. 27 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
    pub(crate) fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }

    /// `tests: N passed, N failed, N skipped`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "tests: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.ignored
        )
    }
}

/// Where `cargo install` puts programs: `$CARGO_HOME/bin`, else `~/.cargo/bin`.
fn cargo_bin() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// `path` with cargo's bin directory and `/usr/sbin` (Debian's nats-server, nginx) appended.
fn extended_path(path: Option<OsString>, cargo_bin: Option<PathBuf>) -> OsString {
    let path = path.unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .collect();
    for dir in cargo_bin.into_iter().chain([PathBuf::from("/usr/sbin")]) {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    // Joining fails only for a directory with a ':' in its name: keep PATH as it was then.
    std::env::join_paths(dirs).unwrap_or(path)
}

/// The exit code for `status`; a child killed by a signal gives 128 + the signal, as shells do.
pub(crate) fn exit_code(status: ExitStatus) -> ExitCode {
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_gains_cargo_bin_and_usr_sbin_once() {
        let path = extended_path(
            Some("/usr/bin:/usr/sbin".into()),
            Some("/root/.cargo/bin".into()),
        );
        assert_eq!(path, "/usr/bin:/usr/sbin:/root/.cargo/bin");
        assert_eq!(extended_path(None, None), "/usr/sbin");
    }

    #[test]
    fn the_tally_sums_every_result_line() {
        let mut tally = Tally::default();
        for line in [
            "test result: ok. 27 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 4.14s",
            "running 3 tests",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ] {
            tally.add(line);
        }
        assert_eq!(
            tally,
            Tally {
                passed: 29,
                failed: 1,
                ignored: 1
            }
        );
        assert_eq!(tally.summary(), "tests: 29 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn exit_codes_follow_the_child() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), ExitCode::SUCCESS);
        assert_eq!(
            exit_code(ExitStatus::from_raw(101 << 8)),
            ExitCode::from(101)
        );
        assert_eq!(
            exit_code(ExitStatus::from_raw(libc::SIGKILL)),
            ExitCode::from(137)
        );
    }
}
