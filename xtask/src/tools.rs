//! Finding the server programs the tests and the local stack need, installing what is missing
//! when we may, and otherwise saying exactly how to get it.
//!
//! `nats-server`, `redis-server`, `nginx` and `prometheus` (with its `promtool`) come from
//! Debian's apt (installed only when we are root, as in CI containers). The MongoDB-compatible server is a real `mongod` when one is
//! installed, else `secantusd-rs`, which `cargo install` builds (that needs `cmake`, from apt too).
//! `test` and `up` install the same set, so both run in the same environment.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};
use devservers::{MongoServer, find_mongo, find_program};

use crate::console;

/// What the servers are needed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `cargo xtask test`: the test harness starts mongo, nats and redis itself. (`promtool`, for
    /// the offline infra checks, is installed too, but a missing one fails those checks only,
    /// saying how to install it, so the tests still run.)
    Test,
    /// `cargo xtask up`: nginx too, for the ingress, and Prometheus, scraping the services.
    Up,
}

/// The server programs found on this machine.
#[derive(Debug)]
pub(crate) struct Tools {
    /// The MongoDB-compatible server.
    pub(crate) mongo: MongoServer,
    /// `nats-server`.
    pub(crate) nats: PathBuf,
    /// `redis-server`.
    pub(crate) redis: PathBuf,
    /// `nginx`, when found (always, for [`Purpose::Up`]).
    pub(crate) nginx: Option<PathBuf>,
    /// `prometheus`, when found (always, for [`Purpose::Up`]).
    pub(crate) prometheus: Option<PathBuf>,
}

/// The Debian-packaged programs, each with the package that installs it.
const APT_PROGRAMS: [(&str, &str); 5] = [
    ("nats-server", "nats-server"),
    ("redis-server", "redis-server"),
    ("nginx", "nginx"),
    ("prometheus", "prometheus"),
    ("promtool", "prometheus"),
];

/// The Debian packages that install `programs`, each once, in their order; a program not in
/// [`APT_PROGRAMS`] is its own package (`cmake`).
fn packages_of<'a>(programs: &[&'a str]) -> Vec<&'a str> {
    let mut packages: Vec<&str> = Vec::new();
    for program in programs {
        let package = APT_PROGRAMS
            .iter()
            .find(|(name, _)| name == program)
            .map_or(*program, |(_, package)| *package);
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages
}

/// Builds `secantusd-rs` (see `../shared/TOOLING.md`: its crate declares a newer rustc than it needs).
const SECANTUS_INSTALL: &str =
    "cargo install secantus-mdb --version 0.5.3-beta.196 --locked --ignore-rust-version";

/// Finds the servers needed for `purpose`, installing the missing ones where possible.
pub(crate) fn locate_or_install(purpose: Purpose) -> anyhow::Result<Tools> {
    let mongo_missing = find_mongo().is_none();
    let mut programs: Vec<&str> = APT_PROGRAMS
        .iter()
        .map(|(program, _)| *program)
        .filter(|program| find_program(program).is_none())
        .collect();
    if mongo_missing && find_program("cmake").is_none() {
        programs.push("cmake");
    }
    let packages = packages_of(&programs);
    if !packages.is_empty() && can_use_apt() {
        // A failure here is reported below, as whatever is still missing.
        if let Err(error) = apt_install(&packages) {
            console::error(format_args!("{error:#}"));
        }
    }
    if mongo_missing && find_program("cmake").is_some() {
        install_secantus()?;
    }
    locate(purpose)
}

/// Whether we may install Debian packages ourselves: as root, where apt-get exists.
pub(crate) fn can_use_apt() -> bool {
    is_root() && find_program("apt-get").is_some()
}

/// Whether xtask runs as root.
#[allow(unsafe_code)]
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}

/// Installs Debian `packages` with apt-get (as root).
pub(crate) fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    console::step(format_args!(
        "installing {} with apt-get",
        packages.join(" ")
    ));
    let apt_get = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("could not run apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
        Ok(())
    };
    apt_get(&["update"])?;
    apt_get(&[&["install", "-y", "--no-install-recommends"], packages].concat())
}

fn install_secantus() -> anyhow::Result<()> {
    console::step(
        "no mongod found: building secantusd-rs, a MongoDB-compatible server (about 7 minutes, once)",
    );
    console::detail(SECANTUS_INSTALL);
    let status = crate::cargo::command()
        .args(SECANTUS_INSTALL.split_whitespace().skip(1))
        .status()
        .context("could not run cargo install")?;
    if !status.success() {
        bail!("`{SECANTUS_INSTALL}` failed ({status})");
    }
    Ok(())
}

/// Finds what `purpose` needs, or fails naming each missing program and how to get it.
fn locate(purpose: Purpose) -> anyhow::Result<Tools> {
    let mongo = find_mongo();
    let nats = find_program("nats-server");
    let redis = find_program("redis-server");
    let nginx = find_program("nginx");
    let prometheus = find_program("prometheus");
    let needed = |program: &str| match program {
        "nginx" | "prometheus" => purpose == Purpose::Up,
        "promtool" => false,
        _ => true,
    };
    let missing: Vec<&str> = APT_PROGRAMS
        .iter()
        .map(|(program, _)| *program)
        .filter(|program| needed(program) && find_program(program).is_none())
        .collect();
    match (mongo, nats, redis) {
        (Some(mongo), Some(nats), Some(redis)) if missing.is_empty() => Ok(Tools {
            mongo,
            nats,
            redis,
            nginx,
            prometheus,
        }),
        (mongo, ..) => bail!("{}", missing_report(&missing, mongo.is_none(), is_root())),
    }
}

/// Says what is missing (these `programs`, and maybe a MongoDB-compatible server) and the
/// exact commands that install it.
pub(crate) fn missing_report(programs: &[&str], mongo_missing: bool, root: bool) -> String {
    let mut names: Vec<&str> = programs.to_vec();
    if mongo_missing {
        names.push("a MongoDB-compatible server (mongod or secantusd-rs)");
    }
    let mut report = format!(
        "missing: {}\ninstall on Debian or Ubuntu with:",
        names.join(", ")
    );
    let mut apt_packages = packages_of(programs);
    if mongo_missing {
        apt_packages.push("cmake");
    }
    if !apt_packages.is_empty() {
        let sudo = if root { "" } else { "sudo " };
        report.push_str(&format!(
            "\n    {sudo}apt-get install -y --no-install-recommends {}",
            apt_packages.join(" ")
        ));
    }
    if mongo_missing {
        report.push_str(&format!("\n    {SECANTUS_INSTALL}    # about 7 minutes"));
    }
    report.push_str(
        "\n(elsewhere, install them with the system's package manager; a real mongod also works)",
    );
    if !root {
        report.push_str("\n(run as root on Debian, `cargo xtask` installs them itself)");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_what_is_missing_and_the_commands_to_install_it() {
        let report = missing_report(&["nats-server", "nginx"], true, false);
        assert!(report.starts_with(
            "missing: nats-server, nginx, a MongoDB-compatible server (mongod or secantusd-rs)\n"
        ));
        assert!(report.contains(
            "\n    sudo apt-get install -y --no-install-recommends nats-server nginx cmake\n"
        ));
        assert!(report.contains(&format!("\n    {SECANTUS_INSTALL}")));
    }

    #[test]
    fn prometheus_and_promtool_are_one_package_installed_once() {
        assert_eq!(
            packages_of(&["promtool", "nginx", "prometheus", "cmake"]),
            ["prometheus", "nginx", "cmake"]
        );
        let report = missing_report(&["prometheus", "promtool"], false, false);
        assert!(
            report.starts_with("missing: prometheus, promtool\n"),
            "{report}"
        );
        assert!(
            report.contains("\n    sudo apt-get install -y --no-install-recommends prometheus\n"),
            "{report}"
        );
    }

    #[test]
    fn without_a_missing_mongo_the_report_asks_for_neither_cmake_nor_cargo_install() {
        let report = missing_report(&["redis-server"], false, true);
        assert!(report.contains("\n    apt-get install -y --no-install-recommends redis-server\n"));
        assert!(!report.contains("cmake"));
        assert!(!report.contains("cargo install"));
    }
}
