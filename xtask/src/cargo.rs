//! Asking cargo about the workspace, and building the services' binaries with it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;

use crate::stop::{Interrupted, Stop};

/// The cargo that runs us (`$CARGO`, set by `cargo run`), else the one on `PATH`.
fn program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A command running that cargo, without the variables `cargo run` set for xtask itself (see
/// [`is_set_by_cargo_run`]): every cargo run xtask starts sees the same environment, so none
/// rebuilds what another just built.
pub(crate) fn command() -> Command {
    let mut command = Command::new(program());
    for (name, _) in std::env::vars_os() {
        if is_set_by_cargo_run(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    command
}

/// The workspace's root and members, from `cargo metadata`.
#[derive(Debug, Deserialize)]
pub(crate) struct Workspace {
    /// The directory of the root `Cargo.toml`.
    #[serde(rename = "workspace_root")]
    pub(crate) root: PathBuf,
    packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

impl Target {
    fn is_binary(&self) -> bool {
        self.kind.iter().any(|kind| kind == "bin")
    }
}

impl Workspace {
    /// Reads the workspace that contains the current directory.
    pub(crate) fn load() -> anyhow::Result<Workspace> {
        Workspace::load_at(Path::new("."))
    }

    /// Reads the workspace that contains `dir`.
    pub(crate) fn load_at(dir: &Path) -> anyhow::Result<Workspace> {
        let output = command()
            .current_dir(dir)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .stderr(Stdio::inherit())
            .output()
            .context("could not run cargo metadata")?;
        if !output.status.success() {
            bail!("cargo metadata failed ({})", output.status);
        }
        serde_json::from_slice(&output.stdout).context("could not read cargo metadata's output")
    }

    /// Whether the workspace has a package `name` with a binary of the same name.
    pub(crate) fn has_binary(&self, name: &str) -> bool {
        self.packages.iter().any(|package| {
            package.name == name
                && package
                    .targets
                    .iter()
                    .any(|target| target.name == name && target.is_binary())
        })
    }
}

/// Builds `packages` (in release mode if `release`), showing cargo's progress, and returns the
/// path of each package's binary of the same name, by name. A stop request interrupts the build.
///
/// Debug binaries are the ones `cargo test --workspace` builds (for the tests'
/// `CARGO_BIN_EXE_*`): a `cargo build -p` resolves features without the dev-dependencies, which
/// would compile a second copy of most of the dependency graph after the tests have run.
///
/// The paths come from cargo's own artifact messages, so they are right whatever target
/// directory is configured. `CARGO_TARGET_DIR` is not passed on, though: a developer may build
/// xtask itself in a separate target dir (to stay clear of a concurrent build's lock), and the
/// services should still land in, and reuse, the workspace's usual one.
pub(crate) fn build(
    root: &Path,
    packages: &[&str],
    release: bool,
    stop: &Stop,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut command = command();
    command
        .current_dir(root)
        .args(build_args(packages, release))
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::piped());
    let mut child = command.spawn().context("could not run cargo build")?;
    let stdout = child.stdout.take().context("cargo build has no stdout")?;
    // Progress and diagnostics go to stderr, inherited; only the JSON messages come through here.
    let reader = std::thread::spawn(move || binaries(BufReader::new(stdout)));
    let status = loop {
        if let Some(status) = child.try_wait().context("lost track of cargo build")? {
            break status;
        }
        if stop.wait(Duration::from_millis(100)) {
            devservers::process::signal(child.id(), libc::SIGINT);
            let _ = child.wait();
            return Err(Interrupted.into());
        }
    };
    let mut binaries = reader
        .join()
        .map_err(|_| anyhow!("reading cargo build's output failed"))?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    binaries.retain(|name, _| packages.contains(&name.as_str()));
    Ok(binaries)
}

/// The cargo command line (after `cargo`) that builds `packages`' binaries.
fn build_args(packages: &[&str], release: bool) -> Vec<String> {
    let mut args: Vec<String> = if release {
        let mut args = vec!["build".to_owned(), "--release".to_owned()];
        for package in packages {
            args.extend(["--package".to_owned(), (*package).to_owned()]);
        }
        args
    } else {
        // The same command line as `cargo xtask test`'s, so the features and artifacts match.
        ["test", "--workspace", "--locked", "--no-run"]
            .map(str::to_owned)
            .into()
    };
    args.push("--message-format=json-render-diagnostics".to_owned());
    args
}

/// Whether `name` is one of the variables `cargo run` sets for xtask itself, describing the xtask
/// package (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME` ...). Build scripts such as ring's (through
/// the cc crate) ask to be rerun when these change, and cargo compares them with its own
/// environment: passed on to some cargo runs and not others, they would make each rebuild ring
/// and all that depends on it, and the next build from a shell rebuild them again.
fn is_set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "OUT_DIR"
        )
}

/// One line of `--message-format=json`; only compiler artifacts matter here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    target: Option<Target>,
    profile: Option<ArtifactProfile>,
    executable: Option<PathBuf>,
}

/// The part of an artifact's profile that tells a binary from its unit-test harness.
#[derive(Deserialize)]
struct ArtifactProfile {
    test: bool,
}

/// The executables that cargo's JSON messages announce, by binary name.
fn binaries(messages: impl BufRead) -> BTreeMap<String, PathBuf> {
    messages
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<Message>(&line).ok())
        .filter(|message| message.reason == "compiler-artifact")
        .filter(|message| !message.profile.as_ref().is_some_and(|profile| profile.test))
        .filter_map(|message| match (message.target, message.executable) {
            (Some(target), Some(executable)) if target.is_binary() => {
                Some((target.name, executable))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_binaries_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"common","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"auth","kind":["bin"]},"executable":"/w/target/release/auth"}
{"reason":"build-finished","success":true}
"#;
        let found = binaries(messages.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found["auth"], Path::new("/w/target/release/auth"));
    }

    #[test]
    fn a_binarys_unit_test_harness_is_not_the_binary() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"auth","kind":["bin"]},"profile":{"test":true},"executable":"/w/target/debug/deps/auth-0123"}
{"reason":"compiler-artifact","target":{"name":"auth","kind":["bin"]},"profile":{"test":false},"executable":"/w/target/debug/auth"}
{"reason":"compiler-artifact","target":{"name":"api","kind":["test"]},"profile":{"test":true},"executable":"/w/target/debug/deps/api-4567"}
"#;
        let found = binaries(messages.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found["auth"], Path::new("/w/target/debug/auth"));
    }

    #[test]
    fn debug_binaries_come_from_the_tests_build() {
        assert_eq!(
            build_args(&["auth"], false),
            [
                "test",
                "--workspace",
                "--locked",
                "--no-run",
                "--message-format=json-render-diagnostics"
            ]
        );
        assert_eq!(
            build_args(&["auth", "tickets"], true),
            [
                "build",
                "--release",
                "--package",
                "auth",
                "--package",
                "tickets",
                "--message-format=json-render-diagnostics"
            ]
        );
    }

    #[test]
    fn what_cargo_run_sets_for_xtask_is_not_passed_on_to_builds() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "OUT_DIR",
        ] {
            assert!(is_set_by_cargo_run(name), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "CARGO",
            "PATH",
        ] {
            assert!(!is_set_by_cargo_run(name), "{name}");
        }
    }

    #[test]
    fn cargo_runs_do_not_inherit_what_cargo_set_for_this_process() {
        // `cargo test` sets these for this process, as `cargo run` does for xtask.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let command = command();
        let removed: Vec<_> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        assert!(
            removed.contains(&"CARGO_PKG_NAME".to_owned()),
            "{removed:?}"
        );
        assert!(
            removed.contains(&"CARGO_MANIFEST_DIR".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn reads_this_workspace() {
        let workspace = Workspace::load().unwrap();
        assert_eq!(
            workspace.root,
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
        );
        assert!(workspace.has_binary("xtask"));
        assert!(
            !workspace.has_binary("devservers"),
            "a library is not a service"
        );
        assert!(!workspace.has_binary("no-such-service"));
    }
}
