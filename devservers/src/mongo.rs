//! The MongoDB-compatible server: a real `mongod` as a one-node replica set, or `secantusd-rs`.
//!
//! The outbox writes a state change and its event in one transaction, and transactions need a
//! replica set: `mongod` is started with `--replSet` and initiated; `secantusd-rs` advertises a
//! one-node replica set by itself. Clients connect with `directConnection=true` either way.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::locate::MongoServer;
use crate::process::{LineSink, Readiness, ServerProcess, StartError};

/// A running MongoDB-compatible server.
#[derive(Debug)]
pub struct Mongo {
    /// The server process.
    pub process: ServerProcess,
}

impl Mongo {
    /// Starts `server` with its data under `data_dir`, on `port` (0 = any free port), taking
    /// any connection.
    pub fn start(
        server: &MongoServer,
        data_dir: &Path,
        port: u16,
        sink: LineSink,
    ) -> Result<Mongo, StartError> {
        Mongo::start_with(server, data_dir, port, false, sink)
    }

    /// [`Mongo::start`], but every command needs an authenticated user (`--auth`, SCRAM). A new
    /// server has no user: its first one is created over a loopback connection (the "localhost
    /// exception"), which is how `common::provision` sets it up.
    pub fn start_secured(
        server: &MongoServer,
        data_dir: &Path,
        port: u16,
        sink: LineSink,
    ) -> Result<Mongo, StartError> {
        Mongo::start_with(server, data_dir, port, true, sink)
    }

    fn start_with(
        server: &MongoServer,
        data_dir: &Path,
        port: u16,
        auth: bool,
        sink: LineSink,
    ) -> Result<Mongo, StartError> {
        let spawn_error = |source| StartError::Spawn {
            program: server.path().display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(spawn_error)?;
        let process = match server {
            MongoServer::Secantus(path) => {
                let mut command = Command::new(path);
                command
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--storage-path",
                    ])
                    .arg(data_dir);
                if auth {
                    command.arg("--auth");
                }
                // It prints `secantusd-rs listening on 127.0.0.1:PORT` once it accepts clients.
                let readiness = Readiness::LogLine(Box::new(|line: &str| {
                    line.split_once(" listening on ")
                        .and_then(|(_, address)| address.trim().rsplit_once(':'))
                        .and_then(|(_, port)| port.parse().ok())
                }));
                ServerProcess::start("mongo", command, readiness, sink, Duration::from_secs(60))?
            }
            MongoServer::Mongod(path) => {
                let port = if port == 0 {
                    crate::free_port().map_err(spawn_error)?
                } else {
                    port
                };
                let mut command = Command::new(path);
                command
                    .args(["--bind_ip", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--replSet", "rs0", "--quiet", "--dbpath"])
                    .arg(data_dir);
                if auth {
                    // A replica set with access control needs its members' shared key, even
                    // with one member.
                    let key_file = data_dir.join("replica-set.key");
                    if !key_file.exists() {
                        let key = crate::secrets::random_password().map_err(spawn_error)?;
                        crate::secrets::write_private(&key_file, &key).map_err(spawn_error)?;
                    }
                    command.arg("--auth").arg("--keyFile").arg(&key_file);
                }
                let process = ServerProcess::start(
                    "mongo",
                    command,
                    Readiness::Tcp(port),
                    sink,
                    Duration::from_secs(60),
                )?;
                initiate_replica_set(port);
                process
            }
        };
        Ok(Mongo { process })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// The connection string for `database`.
    pub fn uri(&self, database: &str) -> String {
        format!(
            "mongodb://127.0.0.1:{}/{database}?directConnection=true",
            self.port()
        )
    }

    /// The connection string for `database` as `user`, a user defined in that database.
    /// `user` and `password` must not need percent-encoding (the generated ones are hex).
    pub fn uri_as(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "mongodb://{user}:{password}@127.0.0.1:{}/{database}?authSource={database}&directConnection=true",
            self.port()
        )
    }
}

/// Makes a fresh `mongod` the primary of a one-node replica set, with `mongosh` when it is
/// installed. Without `mongosh` the caller initiates it through the driver (`replSetInitiate`);
/// the test harness does.
fn initiate_replica_set(port: u16) {
    let Some(mongosh) = crate::find_program("mongosh") else {
        return;
    };
    let script = format!(
        "try {{ rs.status() }} catch (e) {{ rs.initiate({{_id: 'rs0', members: [{{_id: 0, host: '127.0.0.1:{port}'}}]}}) }}
         while (!db.hello().isWritablePrimary) {{ sleep(100) }}"
    );
    let _ = Command::new(mongosh)
        .args(["--quiet", "--port", &port.to_string(), "--eval", &script])
        .output();
}
