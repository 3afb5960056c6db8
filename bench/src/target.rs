//! The stack under test, as xtask describes it in the environment.
//!
//! - `BENCH_INGRESS_URL`: the nginx ingress, e.g. `http://127.0.0.1:8080`;
//! - `BENCH_SERVICES`: `name:port:pid:metrics_port` of each service, comma-separated (a metrics
//!   port of 0, or none, for a tree whose services serve no metrics);
//! - `BENCH_SERVERS`: `name:pid` of each other process (nginx, mongo, nats, redis, stripe);
//! - `BENCH_NATS_URL`: the NATS server the services use (or a cluster's nodes, comma-separated);
//! - `BENCH_NATS_OPERATOR_PASSWORD`: its operator's password;
//! - `BENCH_TICKETS_MONGO_URI`: the tickets service's own database, as it connects to it;
//! - `BENCH_WRK`: the wrk program; `BENCH_WORK_DIR`: where scripts and id lists go;
//! - `BENCH_SECONDS`: how long each wrk run lasts (default 2);
//! - `BENCH_EXPIRATION_WINDOW_SECONDS`: the orders' expiration window on this stack (default 900).
//!
//! The paired part of a side-by-side run has a second stack, the other tree's, in the same
//! variables named `BENCH_OTHER_*`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// A service of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Its name: `auth`, `tickets` ...
    pub name: String,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
    /// Where it serves `GET /metrics`, if it does.
    pub metrics_port: Option<u16>,
}

impl Service {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Another process of the stack (nginx, the backing servers, xtask serving the Stripe stand-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// What it is.
    pub name: String,
    /// Its process id.
    pub pid: u32,
}

/// Everything the scenarios need to know about the stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The ingress, without a trailing slash.
    pub ingress: String,
    /// The services, in start order.
    pub services: Vec<Service>,
    /// The other processes.
    pub servers: Vec<Server>,
    /// The NATS server's URL.
    pub nats_url: String,
    /// `BENCH_NATS_OPERATOR_PASSWORD`: the bench watches the bus as the operator, the one user
    /// who may subscribe to events directly.
    pub nats_operator_password: String,
    /// `BENCH_TICKETS_MONGO_URI`: the tickets service's database, where the catalogue scenario
    /// stores 100,000 tickets at once (through the API that would take minutes).
    pub tickets_mongo_uri: String,
    /// The wrk program.
    pub wrk: PathBuf,
    /// A directory for scripts and id lists.
    pub work_dir: PathBuf,
    /// How long one wrk run lasts.
    pub run_time: Duration,
    /// The orders' expiration window.
    pub expiration_window: Duration,
}

impl Stack {
    /// Reads the stack from the `BENCH_*` variables.
    pub fn from_env() -> anyhow::Result<Stack> {
        Stack::from_vars("BENCH_")
    }

    /// Reads the other tree's stack of a paired run from the `BENCH_OTHER_*` variables.
    pub fn other_from_env() -> anyhow::Result<Stack> {
        Stack::from_vars("BENCH_OTHER_")
    }

    /// Reads a stack from the variables `prefix` starts.
    fn from_vars(prefix: &str) -> anyhow::Result<Stack> {
        let named = |name: &str| format!("{prefix}{name}");
        let var = |name: &str| {
            let name = named(name);
            std::env::var(&name).with_context(|| format!("{name} must be defined"))
        };
        let seconds = |name: &str, default: u64| -> anyhow::Result<u64> {
            let name = named(name);
            match std::env::var(&name) {
                Ok(value) => value
                    .parse()
                    .with_context(|| format!("{name} must be a number of seconds")),
                Err(_) => Ok(default),
            }
        };
        Ok(Stack {
            ingress: var("INGRESS_URL")?.trim_end_matches('/').to_owned(),
            services: parse_services(&var("SERVICES")?)?,
            servers: parse_servers(&var("SERVERS")?)?,
            nats_url: var("NATS_URL")?,
            nats_operator_password: var("NATS_OPERATOR_PASSWORD")?,
            tickets_mongo_uri: var("TICKETS_MONGO_URI")?,
            wrk: var("WRK")?.into(),
            work_dir: var("WORK_DIR")?.into(),
            run_time: Duration::from_secs(seconds("SECONDS", 2)?),
            expiration_window: Duration::from_secs(seconds("EXPIRATION_WINDOW_SECONDS", 900)?),
        })
    }

    /// How many NATS servers the stack runs: 1, or the nodes of a cluster, each keeping a copy
    /// of every stream.
    pub fn nats_servers(&self) -> usize {
        common::bus::servers(&self.nats_url).len()
    }

    /// A connection to the stack's NATS as the operator, who may watch every subject and make
    /// streams of their own.
    pub async fn nats_operator(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::ConnectOptions::with_user_and_password(
            common::bus::access::OPERATOR.to_owned(),
            self.nats_operator_password.clone(),
        )
        .connect(common::bus::servers(&self.nats_url).as_slice())
        .await
        .with_context(|| format!("could not connect to {}", self.nats_url))
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> anyhow::Result<&Service> {
        self.services
            .iter()
            .find(|service| service.name == name)
            .with_context(|| format!("the stack runs no {name} service"))
    }
}

/// `auth:4001:123:9001,tickets:4002:124:9002` (the metrics port may be left out).
pub fn parse_services(list: &str) -> anyhow::Result<Vec<Service>> {
    items(list)
        .map(|item| {
            let mut parts = item.split(':');
            let (Some(name), Some(port), Some(pid), metrics, None) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                bail!("`{item}` is not name:port:pid[:metrics_port]");
            };
            let metrics_port = match metrics {
                None => None,
                Some(port) => Some(
                    port.parse::<u16>()
                        .with_context(|| format!("bad metrics port in `{item}`"))?,
                )
                .filter(|port| *port != 0),
            };
            Ok(Service {
                name: name.to_owned(),
                port: port
                    .parse()
                    .with_context(|| format!("bad port in `{item}`"))?,
                pid: pid
                    .parse()
                    .with_context(|| format!("bad pid in `{item}`"))?,
                metrics_port,
            })
        })
        .collect()
}

/// `nginx:125,mongo:126`.
pub fn parse_servers(list: &str) -> anyhow::Result<Vec<Server>> {
    items(list)
        .map(|item| {
            let (name, pid) = item
                .split_once(':')
                .with_context(|| format!("`{item}` is not name:pid"))?;
            Ok(Server {
                name: name.to_owned(),
                pid: pid
                    .parse()
                    .with_context(|| format!("bad pid in `{item}`"))?,
            })
        })
        .collect()
}

fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_services_and_servers() {
        let services = parse_services("auth:4001:10, tickets:4002:11").unwrap();
        assert_eq!(services.len(), 2);
        assert_eq!(services[1].name, "tickets");
        assert_eq!(services[1].url(), "http://127.0.0.1:4002");
        assert_eq!(services[1].pid, 11);
        assert_eq!(services[1].metrics_port, None);
        let services = parse_services("auth:4001:10:9001,tickets:4002:11:0").unwrap();
        assert_eq!(services[0].metrics_port, Some(9001));
        assert_eq!(services[1].metrics_port, None);
        assert!(parse_services("auth:4001:10:x").is_err());
        assert!(parse_services("auth:4001").is_err());
        assert!(parse_services("auth:x:1").is_err());
        let servers = parse_servers("nginx:5,mongo:6").unwrap();
        assert_eq!(servers[1].name, "mongo");
        assert_eq!(servers[1].pid, 6);
        assert!(parse_servers("nginx").is_err());
        assert!(parse_servers("").unwrap().is_empty());
    }
}
