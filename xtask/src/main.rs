//! Project automation for ticketing-rs, run as `cargo xtask <command>`.
//!
//! - `cargo xtask up` builds the services and runs the whole platform in the foreground behind an
//!   nginx ingress on `127.0.0.1:${TICKETING_PORT:-8080}`; Ctrl-C stops it.
//! - `cargo xtask test [-- ARGS]` makes sure the servers the tests need are installed, then runs
//!   `cargo test --workspace --locked ARGS` (e.g. `cargo xtask test -- signup -- --nocapture`).
//! - `cargo xtask infra` validates the deployment files offline (also part of `test`).
//! - `cargo xtask e2e` runs the browser test against a fresh local stack (also the last step of
//!   `test`, when every other test passed).
//! - `cargo xtask chaos` runs the fault-injection suite at full size (a short run is part of
//!   `test`).
//! - `cargo xtask bench` benchmarks release builds on a fresh local stack ([`bench`]).
//!
//! Layout:
//! - [`nginx`]: the local ingress, generated from the route table (`devservers::routes`);
//! - [`catalog`]: the platform's services; [`services`]: the environment each one gets;
//! - [`cargo`]: the workspace's packages and building release binaries;
//! - [`tools`]: finding, or installing, the server programs; [`prometheus`]: the local stack's
//!   Prometheus and the alert rules;
//! - [`up`] and [`mod@test`]: the two commands; [`infra`]: validating the deployment files;
//!   [`e2e`]: the browser test against a local stack, and [`metrics_check`] of its metrics;
//! - [`console`], [`http`], [`stop`]: terminal output, a tiny HTTP probe, Ctrl-C and SIGTERM.

mod bench;
mod cargo;
mod catalog;
mod chaos;
mod console;
mod credentials;
mod e2e;
mod fuzz;
mod http;
mod infra;
mod metrics_check;
mod nginx;
mod prometheus;
mod services;
mod stop;
mod stripe;
mod test;
mod tools;
mod trace_check;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(bin_name = "cargo xtask", about = "ticketing-rs project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the services and run the whole platform locally, in the foreground (Ctrl-C stops it).
    Up(up::Options),
    /// Install what the tests need, then run every test in the workspace.
    Test {
        /// Extra arguments for `cargo test`, e.g. `signup -- --nocapture`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Validate the Kubernetes manifests, skaffold.yaml and the GitHub workflows offline.
    Infra,
    /// Run the browser test against a fresh local stack (also the last step of `test`).
    E2e,
    /// Run the fault-injection suite at full size (500 users, kills, NATS restarts).
    Chaos(chaos::Options),
    /// Benchmark release builds on a fresh local stack; results in `bench/results/`.
    Bench(bench::Options),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Up(options) => up::run(&options),
        Command::Test { cargo_args } => test::run(&cargo_args),
        Command::Infra => infra::run(),
        Command::E2e => e2e::run_alone(),
        Command::Chaos(options) => chaos::run(&options),
        Command::Bench(options) => bench::run(&options),
    };
    result.unwrap_or_else(|error| {
        console::error(format_args!("{error:#}"));
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_args(args: &[&str]) -> Vec<String> {
        let cli = Cli::try_parse_from(["xtask", "test"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Test { cargo_args } => cargo_args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn test_passes_what_follows_to_cargo_test_with_or_without_a_separator() {
        assert!(test_args(&[]).is_empty());
        assert_eq!(test_args(&["--", "-p", "auth"]), ["-p", "auth"]);
        assert_eq!(
            test_args(&["-p", "auth", "--", "--nocapture"]),
            ["-p", "auth", "--", "--nocapture"]
        );
        assert_eq!(
            test_args(&["--", "signup", "--", "--nocapture"]),
            ["signup", "--", "--nocapture"]
        );
    }
}
