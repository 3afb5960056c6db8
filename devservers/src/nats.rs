//! NATS with JetStream enabled, its store on disk: one server, or the nodes of a [`Cluster`] on
//! loopback.

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
/// `authorization { users = [...] }` block), each with its permissions; it may be followed by
/// more configuration, such as a node's [`Cluster::config`]. It is written, readable by its owner
/// only, to `server.conf` in `store_dir`.
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

/// A JetStream cluster of nodes on loopback: each node has a client port and a route port, and
/// the routes between nodes authenticate with a password of their own.
#[derive(Debug, Clone)]
pub struct Cluster {
    name: String,
    /// Each node's client port and route port.
    nodes: Vec<(u16, u16)>,
    route_password: String,
}

/// The user the nodes' routes sign in as.
const ROUTE_USER: &str = "route";

impl Cluster {
    /// A cluster called `name` of `nodes` nodes on free ports, with a fresh route password.
    pub fn new(name: &str, nodes: usize) -> std::io::Result<Cluster> {
        let ports = crate::free_ports(nodes * 2)?;
        Ok(Cluster {
            name: name.to_owned(),
            nodes: ports.chunks(2).map(|pair| (pair[0], pair[1])).collect(),
            route_password: crate::secrets::random_password()?,
        })
    }

    /// How many nodes it has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it has no node at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `index`'s client port.
    pub fn client_port(&self, index: usize) -> u16 {
        self.nodes[index].0
    }

    /// Every node's client URL, comma-separated: what a client is given, so that it can
    /// connect, and reconnect, through any of them.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|(client, _)| format!("nats://127.0.0.1:{client}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// What makes node `index` a member, to follow its `authorization` block in its
    /// configuration: its name, its route listener (which asks for the route password) and
    /// routes to every node (its own is ignored).
    pub fn config(&self, index: usize) -> String {
        let routes: Vec<String> = self
            .nodes
            .iter()
            .map(|(_, route)| {
                format!(
                    "nats-route://{ROUTE_USER}:{}@127.0.0.1:{route}",
                    self.route_password
                )
            })
            .collect();
        format!(
            "server_name: \"{name}-{index}\"\n\
             cluster {{\n  name: \"{name}\"\n  listen: \"127.0.0.1:{port}\"\n  \
             authorization {{ user: \"{ROUTE_USER}\", password: \"{password}\" }}\n  \
             routes: [\n{routes}\n  ]\n}}\n",
            name = self.name,
            port = self.nodes[index].1,
            password = self.route_password,
            routes = routes
                .iter()
                .map(|route| format!("    \"{route}\""))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// Starts node `index` with its store under `store_dir`, accepting the users of
    /// `authorization` (see [`start_secured`]).
    pub fn start_node(
        &self,
        program: &Path,
        store_dir: &Path,
        index: usize,
        authorization: &str,
        sink: LineSink,
    ) -> Result<ServerProcess, StartError> {
        let config = format!("{authorization}\n{}", self.config(index));
        start_with(
            program,
            store_dir,
            self.client_port(index),
            Some(&config),
            sink,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_routes_to_every_node_with_the_route_password() {
        let cluster = Cluster {
            name: "chaos".to_owned(),
            nodes: vec![(4001, 6001), (4002, 6002), (4003, 6003)],
            route_password: "secret".to_owned(),
        };
        assert_eq!(
            cluster.url(),
            "nats://127.0.0.1:4001,nats://127.0.0.1:4002,nats://127.0.0.1:4003"
        );
        let config = cluster.config(1);
        assert!(config.starts_with("server_name: \"chaos-1\"\n"), "{config}");
        assert!(config.contains("listen: \"127.0.0.1:6002\""), "{config}");
        assert!(
            config.contains("authorization { user: \"route\", password: \"secret\" }"),
            "{config}"
        );
        for port in [6001, 6002, 6003] {
            assert!(
                config.contains(&format!("\"nats-route://route:secret@127.0.0.1:{port}\"")),
                "{config}"
            );
        }
    }
}
