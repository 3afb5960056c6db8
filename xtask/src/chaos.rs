//! `cargo xtask chaos`: the fault-injection suite at full size.
//!
//! The `chaos` crate's tests start their own fleet of real service processes (see its docs);
//! `cargo xtask test` runs them at a short size with every other test. This runs them with the
//! soaks at full size — by default 500 users for 90 seconds, a replica SIGKILLed every 3
//! seconds and NATS restarted twice (on a three-node cluster, two nodes SIGKILLed in turn) —
//! and prints each test's figures.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cargo::Workspace;
use crate::test::{Tally, cargo_test, exit_code};
use crate::tools::{self, Purpose};

/// Options of `cargo xtask chaos`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Simulated users in the soak.
    #[arg(long, default_value_t = 500)]
    users: u32,
    /// How long the soak's users act, in seconds.
    #[arg(long, default_value_t = 90)]
    seconds: u32,
    /// Milliseconds between two SIGKILLs of a random replica.
    #[arg(long, default_value_t = 3_000)]
    kill_every_ms: u32,
    /// NATS restarts during the soak.
    #[arg(long, default_value_t = 2)]
    nats_restarts: u32,
    /// The seed of every random choice (a failing run prints its seed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl Options {
    /// The variables the chaos tests read.
    fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CHAOS_USERS", self.users.to_string()),
            ("CHAOS_SECONDS", self.seconds.to_string()),
            ("CHAOS_KILL_EVERY_MS", self.kill_every_ms.to_string()),
            ("CHAOS_NATS_RESTARTS", self.nats_restarts.to_string()),
            ("CHAOS_SEED", self.seed.to_string()),
        ]
    }
}

/// The test command: the chaos crate's fault-injection tests, figures shown. Selected by name
/// within the whole workspace, so that features resolve as in `cargo xtask test` and its
/// artifacts serve (with `--package chaos`, features resolved otherwise and most of the graph
/// was rebuilt).
const ARGS: [&str; 21] = [
    "test",
    "--workspace",
    "--locked",
    "--test",
    "cluster",
    "--test",
    "delivery",
    "--test",
    "input",
    "--test",
    "races",
    "--test",
    "sessions",
    "--test",
    "shutdown",
    "--test",
    "soak",
    "--test",
    "webhooks",
    "--",
    "--nocapture",
];

/// Runs the chaos suite at full size and exits as it does.
pub(crate) fn run(options: &Options) -> anyhow::Result<ExitCode> {
    tools::locate_or_install(Purpose::Test)?;
    let workspace = Workspace::load()?;
    let mut tally = Tally::default();
    let status = cargo_test(&workspace, &ARGS, &options.environment(), &mut tally)?;
    let _ = writeln!(std::io::stdout(), "{}", tally.summary());
    Ok(exit_code(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        options: Options,
    }

    #[test]
    fn the_full_size_is_the_default_and_each_figure_reaches_the_tests() {
        let defaults = Cli::try_parse_from(["chaos"])
            .unwrap()
            .options
            .environment();
        assert!(defaults.contains(&("CHAOS_USERS", "500".to_owned())));
        assert!(defaults.contains(&("CHAOS_NATS_RESTARTS", "2".to_owned())));
        let custom =
            Cli::try_parse_from(["chaos", "--users", "50", "--seconds", "10", "--seed", "9"])
                .unwrap()
                .options
                .environment();
        for expected in [
            ("CHAOS_USERS", "50"),
            ("CHAOS_SECONDS", "10"),
            ("CHAOS_SEED", "9"),
        ] {
            assert!(
                custom.contains(&(expected.0, expected.1.to_owned())),
                "{custom:?}"
            );
        }
        assert_eq!(&ARGS[..3], ["test", "--workspace", "--locked"]);
        // Every test of the chaos crate, and nothing else.
        let named: Vec<&str> = ARGS
            .windows(2)
            .filter(|pair| pair[0] == "--test")
            .map(|pair| pair[1])
            .collect();
        let mut files: Vec<String> = std::fs::read_dir(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chaos/tests"),
        )
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
        files.sort();
        assert_eq!(named, files);
    }
}
