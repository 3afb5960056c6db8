//! The environment each of the platform's services gets from `cargo xtask up`. The services
//! themselves are listed in [`crate::catalog`], whose names are re-exported here.

pub(crate) use crate::catalog::{SERVICES, Service};
use crate::credentials::Credentials;

/// Where the backing servers of the local stack listen, and what to sign in with.
pub(crate) struct Backends<'a> {
    /// The connection string for a database on the MongoDB-compatible server, signing in as
    /// `(user, password)`.
    pub(crate) mongo_uri: &'a dyn Fn(&str, (&str, &str)) -> String,
    /// The stack's passwords and session key.
    pub(crate) credentials: &'a Credentials,
    /// NATS: the server's URL, or every node's of a cluster, comma-separated.
    pub(crate) nats_url: &'a str,
    /// Servers keeping each stream: 1, or every node of the cluster (`EVENTS_REPLICAS`).
    pub(crate) nats_replicas: usize,
    /// Redis's port.
    pub(crate) redis_port: u16,
    /// The ingress's port: the client calls the API through it, as in Kubernetes.
    pub(crate) ingress_port: u16,
}

/// The ports a service listens on, on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    /// Its API (`PORT`).
    pub(crate) api: u16,
    /// Its metrics (`METRICS_PORT`), which no ingress route leads to.
    pub(crate) metrics: u16,
}

/// The variables `up` sets for `service` listening on `ports`.
///
/// `env` reads xtask's own environment: `JWT_KEY` and `RUST_LOG` are taken from it when set,
/// else the data directory's key and `info`. Everything else there (`STRIPE_KEY`, `STRIPE_API_BASE`,
/// `EXPIRATION_WINDOW_SECONDS`, `LOG_FORMAT`, `JWT_TTL_SECONDS`, `COOKIE_SECURE` ...) reaches the
/// services unchanged, because children inherit it.
pub(crate) fn environment(
    service: &Service,
    ports: Ports,
    backends: &Backends<'_>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let or_default = |name: &str, default: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let mut vars = vec![
        // Loopback only: the local stack is reached through the ingress.
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", ports.api.to_string()),
        ("METRICS_PORT", ports.metrics.to_string()),
        (
            "JWT_KEY",
            or_default("JWT_KEY", &backends.credentials.jwt_key),
        ),
        ("RUST_LOG", or_default("RUST_LOG", "info")),
    ];
    let password = |passwords: &std::collections::BTreeMap<String, String>| {
        passwords.get(service.name).cloned().unwrap_or_default()
    };
    if service.bus {
        vars.extend([
            ("NATS_URL", backends.nats_url.to_owned()),
            // One client per service: there is a single replica of each here.
            ("NATS_CLIENT_ID", format!("{}-local", service.name)),
            ("NATS_USER", service.name.to_owned()),
            ("NATS_PASSWORD", password(&backends.credentials.nats)),
        ]);
        if backends.nats_replicas > 1 {
            vars.push(("EVENTS_REPLICAS", backends.nats_replicas.to_string()));
        }
    }
    if service.jobs {
        vars.extend([
            ("REDIS_HOST", "127.0.0.1".to_owned()),
            ("REDIS_PORT", backends.redis_port.to_string()),
            ("REDIS_PASSWORD", backends.credentials.redis.clone()),
        ]);
    }
    if let Some(database) = service.database {
        let password = password(&backends.credentials.mongo);
        let uri = (backends.mongo_uri)(database, (service.name, &password));
        vars.push(("MONGO_URI", uri));
    }
    if service.name == CLIENT {
        // The Host-header trick of the original's buildClient needs the real ingress, not the
        // services: the client fetches its pages' data through nginx.
        vars.push(("API_BASE_URL", ingress_url(backends.ingress_port)));
    }
    vars
}

/// The web client: the one service that calls the API, through the ingress.
const CLIENT: &str = "client";

/// The URL of the local ingress on `port`.
pub(crate) fn ingress_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The URL of the local NATS server on `port`.
pub(crate) fn nats_url(port: u16) -> String {
    format!("nats://127.0.0.1:{port}")
}

/// The URL of the local Redis server on `port` (no password in it: it is printed).
pub(crate) fn redis_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn credentials() -> Credentials {
        let passwords = |names: &[&str]| -> BTreeMap<String, String> {
            names
                .iter()
                .map(|name| ((*name).to_owned(), format!("pw-{name}")))
                .collect()
        };
        Credentials {
            jwt_key: "k".repeat(64),
            mongo_admin: "pw-admin".to_owned(),
            mongo: passwords(&["auth", "tickets", "orders", "payments"]),
            nats: passwords(&crate::credentials::nats_users().collect::<Vec<_>>()),
            redis: "pw-redis".to_owned(),
            stripe_webhook: "whsec_test".to_owned(),
        }
    }

    fn env_of(service: &Service, xtask_env: &[(&str, &str)]) -> BTreeMap<&'static str, String> {
        env_with_nats(service, xtask_env, "nats://127.0.0.1:2", 1)
    }

    fn env_with_nats(
        service: &Service,
        xtask_env: &[(&str, &str)],
        nats_url: &str,
        nats_replicas: usize,
    ) -> BTreeMap<&'static str, String> {
        let mongo_uri = |database: &str, (user, password): (&str, &str)| {
            format!("mongodb://{user}:{password}@127.0.0.1:1/{database}")
        };
        let credentials = credentials();
        let backends = Backends {
            mongo_uri: &mongo_uri,
            credentials: &credentials,
            nats_url,
            nats_replicas,
            redis_port: 3,
            ingress_port: 8080,
        };
        let lookup = |name: &str| {
            xtask_env
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let ports = Ports {
            api: 4000,
            metrics: 4001,
        };
        environment(service, ports, &backends, lookup)
            .into_iter()
            .collect()
    }

    fn service(name: &str) -> Service {
        SERVICES
            .into_iter()
            .find(|service| service.name == name)
            .unwrap()
    }

    #[test]
    fn each_service_gets_exactly_what_it_needs_signing_in_as_itself() {
        let expected = |pairs: &[(&'static str, &str)]| -> BTreeMap<&'static str, String> {
            pairs
                .iter()
                .map(|(key, value)| (*key, (*value).to_owned()))
                .collect()
        };
        let key = "k".repeat(64);
        let common = [
            ("HOST", "127.0.0.1"),
            ("PORT", "4000"),
            ("METRICS_PORT", "4001"),
            ("JWT_KEY", key.as_str()),
            ("RUST_LOG", "info"),
        ];
        let auth = [
            &common[..],
            &[
                ("MONGO_URI", "mongodb://auth:pw-auth@127.0.0.1:1/auth"),
                ("NATS_URL", "nats://127.0.0.1:2"),
                ("NATS_CLIENT_ID", "auth-local"),
                ("NATS_USER", "auth"),
                ("NATS_PASSWORD", "pw-auth"),
            ],
        ]
        .concat();
        assert_eq!(env_of(&service("auth"), &[]), expected(&auth));
        let orders = [
            &common[..],
            &[
                ("MONGO_URI", "mongodb://orders:pw-orders@127.0.0.1:1/orders"),
                ("NATS_URL", "nats://127.0.0.1:2"),
                ("NATS_CLIENT_ID", "orders-local"),
                ("NATS_USER", "orders"),
                ("NATS_PASSWORD", "pw-orders"),
            ],
        ]
        .concat();
        assert_eq!(env_of(&service("orders"), &[]), expected(&orders));
        let expiration = [
            &common[..],
            &[
                ("NATS_URL", "nats://127.0.0.1:2"),
                ("NATS_CLIENT_ID", "expiration-local"),
                ("NATS_USER", "expiration"),
                ("NATS_PASSWORD", "pw-expiration"),
                ("REDIS_HOST", "127.0.0.1"),
                ("REDIS_PORT", "3"),
                ("REDIS_PASSWORD", "pw-redis"),
            ],
        ]
        .concat();
        assert_eq!(env_of(&service("expiration"), &[]), expected(&expiration));
    }

    #[test]
    fn on_a_cluster_every_node_is_named_and_streams_keep_a_copy_on_each() {
        let nodes = "nats://127.0.0.1:2,nats://127.0.0.1:5,nats://127.0.0.1:6";
        for name in ["auth", "orders", "expiration"] {
            let env = env_with_nats(&service(name), &[], nodes, 3);
            assert_eq!(env["NATS_URL"], nodes, "{name}");
            assert_eq!(env["EVENTS_REPLICAS"], "3", "{name}");
        }
        assert!(!env_with_nats(&service("client"), &[], nodes, 3).contains_key("EVENTS_REPLICAS"));
        assert!(!env_of(&service("orders"), &[]).contains_key("EVENTS_REPLICAS"));
    }

    #[test]
    fn jwt_key_and_log_filter_come_from_the_environment_when_set() {
        let env = env_of(
            &SERVICES[0],
            &[("JWT_KEY", "secret"), ("RUST_LOG", "debug")],
        );
        assert_eq!(env["JWT_KEY"], "secret");
        assert_eq!(env["RUST_LOG"], "debug");
        // An empty key would make the service refuse to start: the data directory's instead.
        assert_eq!(
            env_of(&SERVICES[0], &[("JWT_KEY", "")])["JWT_KEY"],
            "k".repeat(64)
        );
    }

    #[test]
    fn only_the_bus_services_get_a_nats_user_and_only_expiration_gets_redis() {
        for service in SERVICES {
            let env = env_of(&service, &[]);
            assert_eq!(
                env.contains_key("NATS_USER"),
                matches!(
                    service.name,
                    "auth" | "tickets" | "orders" | "payments" | "expiration"
                ),
                "{}",
                service.name
            );
            assert_eq!(
                env.contains_key("REDIS_PASSWORD"),
                service.name == "expiration",
                "{}",
                service.name
            );
            match service.database {
                Some(database) => assert!(env["MONGO_URI"].ends_with(&format!("/{database}"))),
                None => assert!(!env.contains_key("MONGO_URI"), "{}", service.name),
            }
        }
    }

    #[test]
    fn the_client_calls_the_api_through_the_local_ingress() {
        let env = env_of(&service("client"), &[]);
        assert_eq!(env["API_BASE_URL"], "http://127.0.0.1:8080");
        assert_eq!(env["PORT"], "4000");
        assert!(!env.contains_key("MONGO_URI"));
        for service in SERVICES.iter().filter(|service| service.name != "client") {
            assert!(
                !env_of(service, &[]).contains_key("API_BASE_URL"),
                "{}",
                service.name
            );
        }
    }
}
