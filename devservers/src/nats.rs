//! NATS with JetStream enabled, its store on disk.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{LineSink, Readiness, ServerProcess, StartError};

/// Starts `nats-server -js` with its store under `store_dir`, on `port` (0 = any free port),
/// taking any connection.
pub fn start(
    program: &Path,
    store_dir: &Path,
    port: u16,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    start_with(program, store_dir, port, None, sink)
}

/// [`start`], but the server accepts only the users of `authorization` (a nats-server
/// `authorization { users = [...] }` block), each with its permissions. The block is written,
/// readable by its owner only, to `server.conf` in `store_dir`.
pub fn start_secured(
    program: &Path,
    store_dir: &Path,
    port: u16,
    authorization: &str,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    start_with(program, store_dir, port, Some(authorization), sink)
}

fn start_with(
    program: &Path,
    store_dir: &Path,
    port: u16,
    authorization: Option<&str>,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    let spawn_error = |source| StartError::Spawn {
        program: program.display().to_string(),
        source,
    };
    std::fs::create_dir_all(store_dir).map_err(spawn_error)?;
    let mut command = command(program, port);
    if let Some(authorization) = authorization {
        let config = store_dir.join("server.conf");
        crate::secrets::write_private(&config, authorization).map_err(spawn_error)?;
        // The flags after it win over the file, which only adds the users.
        command.arg("-c").arg(&config);
    }
    command.arg("-js").arg("-sd").arg(store_dir);
    start_command(command, sink)
}

/// Starts `nats-server` without JetStream, on `port` (0 = any free port): a server whose
/// JetStream API nobody answers, as while JetStream is still starting.
pub fn start_without_jetstream(
    program: &Path,
    port: u16,
    sink: LineSink,
) -> Result<ServerProcess, StartError> {
    start_command(command(program, port), sink)
}

fn command(program: &Path, port: u16) -> Command {
    // `-p -1` lets the server choose a free port itself, which it then logs.
    let port_arg = if port == 0 {
        "-1".to_owned()
    } else {
        port.to_string()
    };
    let mut command = Command::new(program);
    command.args(["-a", "127.0.0.1", "-p", &port_arg]);
    command
}

fn start_command(command: Command, sink: LineSink) -> Result<ServerProcess, StartError> {
    // "[INF] Listening for client connections on 127.0.0.1:4222"
    let readiness = Readiness::LogLine(Box::new(|line: &str| {
        line.split_once("Listening for client connections on ")
            .and_then(|(_, address)| address.trim().rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
    }));
    ServerProcess::start("nats", command, readiness, sink, Duration::from_secs(30))
}
