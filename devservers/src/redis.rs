//! Redis, for the expiration service's delayed jobs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::Durability;
use crate::process::{LineSink, Readiness, ServerProcess, StartError};

/// Starts `redis-server` with its files under `data_dir`, on `port` (0 = any free port), taking
/// any connection.
///
/// Redis cannot choose a port itself, so with `port` 0 a free one is picked and the start is
/// retried a few times if another process takes it first.
pub fn start(
    program: &Path,
    data_dir: &Path,
    port: u16,
    durability: Durability,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    start_with(program, data_dir, port, durability, None, sink)
}

/// [`start`], but every client must authenticate with `password` (`requirepass`). The password
/// goes in `redis.conf` in `data_dir`, readable by its owner only, never on the command line.
pub fn start_secured(
    program: &Path,
    data_dir: &Path,
    port: u16,
    durability: Durability,
    password: &str,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    start_with(program, data_dir, port, durability, Some(password), sink)
}

fn start_with(
    program: &Path,
    data_dir: &Path,
    port: u16,
    durability: Durability,
    password: Option<&str>,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    let spawn_error = |source| StartError::Spawn {
        program: program.display().to_string(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(spawn_error)?;
    let config = match password {
        Some(password) => {
            let config = data_dir.join("redis.conf");
            let contents = format!("requirepass \"{password}\"\n");
            crate::secrets::write_private(&config, &contents).map_err(spawn_error)?;
            Some(config)
        }
        None => None,
    };
    let attempts = if port == 0 { 5 } else { 1 };
    ServerProcess::start_on_port(port, attempts, |port| {
        let mut command = Command::new(program);
        // The file, if any, comes first: the flags after it are settings of its own.
        command.args(config.iter());
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--dir"])
            .arg(data_dir)
            .args(["--save", ""]);
        match durability {
            // Jobs must survive a restart: log every write.
            Durability::Persistent => command.args(["--appendonly", "yes"]),
            Durability::Ephemeral => command.args(["--appendonly", "no"]),
        };
        ServerProcess::start(
            "redis",
            command,
            // A TCP probe could reach another process holding the port; the log line cannot.
            Readiness::LogLine(Box::new(move |line: &str| {
                line.contains("Ready to accept connections").then_some(port)
            })),
            sink.clone(),
            Duration::from_secs(30),
        )
    })
}
