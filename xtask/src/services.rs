//! The platform's services, and the environment each one gets from `cargo xtask up`.

/// One service of the platform: a workspace package with a binary of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Service {
    /// Package and binary name, also its name in logs and routes.
    pub(crate) name: &'static str,
    /// Its MongoDB database, for the services that keep one.
    pub(crate) database: Option<&'static str>,
}

/// Every service the platform will have, in start order. Those not in the workspace yet are
/// skipped, and their routes answer 502.
pub(crate) const SERVICES: [Service; 6] = [
    Service {
        name: "auth",
        database: Some("auth"),
    },
    Service {
        name: "tickets",
        database: Some("tickets"),
    },
    Service {
        name: "orders",
        database: Some("orders"),
    },
    Service {
        name: "payments",
        database: Some("payments"),
    },
    Service {
        name: "expiration",
        database: None,
    },
    Service {
        name: "client",
        database: None,
    },
];

/// The JWT key used when `JWT_KEY` is not set: fine for a local stack, never for a deployment.
pub(crate) const DEV_JWT_KEY: &str = "dev-only-jwt-key-not-secret";

/// Where the backing servers of the local stack listen.
pub(crate) struct Backends<'a> {
    /// The connection string for a database on the MongoDB-compatible server.
    pub(crate) mongo_uri: &'a dyn Fn(&str) -> String,
    /// NATS's client port.
    pub(crate) nats_port: u16,
    /// Redis's port.
    pub(crate) redis_port: u16,
    /// The ingress's port: the client calls the API through it, as in Kubernetes.
    pub(crate) ingress_port: u16,
}

/// The variables `up` sets for `service` listening on `127.0.0.1:port`.
///
/// `env` reads xtask's own environment: `JWT_KEY` and `RUST_LOG` are taken from it when set and
/// get a local default otherwise. Everything else there (`STRIPE_KEY`, `STRIPE_API_BASE`,
/// `EXPIRATION_WINDOW_SECONDS`, `LOG_FORMAT`, `JWT_TTL_SECONDS`, `COOKIE_SECURE` ...) reaches the
/// services unchanged, because children inherit it.
pub(crate) fn environment(
    service: &Service,
    port: u16,
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
        ("PORT", port.to_string()),
        ("JWT_KEY", or_default("JWT_KEY", DEV_JWT_KEY)),
        ("RUST_LOG", or_default("RUST_LOG", "info")),
        ("NATS_URL", nats_url(backends.nats_port)),
        // One client per service: there is a single replica of each here.
        ("NATS_CLIENT_ID", format!("{}-local", service.name)),
        ("REDIS_URL", redis_url(backends.redis_port)),
        ("REDIS_HOST", "127.0.0.1".to_owned()),
    ];
    if let Some(database) = service.database {
        vars.push(("MONGO_URI", (backends.mongo_uri)(database)));
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

/// The URL of the local Redis server on `port`.
pub(crate) fn redis_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env_of(service: &Service, xtask_env: &[(&str, &str)]) -> BTreeMap<&'static str, String> {
        let mongo_uri = |database: &str| format!("mongodb://127.0.0.1:1/{database}");
        let backends = Backends {
            mongo_uri: &mongo_uri,
            nats_port: 2,
            redis_port: 3,
            ingress_port: 8080,
        };
        let lookup = |name: &str| {
            xtask_env
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        environment(service, 4000, &backends, lookup)
            .into_iter()
            .collect()
    }

    #[test]
    fn a_service_with_a_database_gets_everything_it_needs() {
        let env = env_of(&SERVICES[0], &[]);
        let expected: BTreeMap<&str, String> = [
            ("HOST", "127.0.0.1"),
            ("PORT", "4000"),
            ("JWT_KEY", DEV_JWT_KEY),
            ("RUST_LOG", "info"),
            ("MONGO_URI", "mongodb://127.0.0.1:1/auth"),
            ("NATS_URL", "nats://127.0.0.1:2"),
            ("NATS_CLIENT_ID", "auth-local"),
            ("REDIS_URL", "redis://127.0.0.1:3"),
            ("REDIS_HOST", "127.0.0.1"),
        ]
        .into_iter()
        .map(|(key, value)| (key, value.to_owned()))
        .collect();
        assert_eq!(env, expected);
    }

    #[test]
    fn jwt_key_and_log_filter_come_from_the_environment_when_set() {
        let env = env_of(
            &SERVICES[0],
            &[("JWT_KEY", "secret"), ("RUST_LOG", "debug")],
        );
        assert_eq!(env["JWT_KEY"], "secret");
        assert_eq!(env["RUST_LOG"], "debug");
        // An empty key would make the service refuse to start: use the default instead.
        assert_eq!(
            env_of(&SERVICES[0], &[("JWT_KEY", "")])["JWT_KEY"],
            DEV_JWT_KEY
        );
    }

    #[test]
    fn each_service_has_its_own_database_and_those_without_one_get_no_uri() {
        for service in SERVICES {
            let env = env_of(&service, &[]);
            match service.database {
                Some(database) => assert!(env["MONGO_URI"].ends_with(&format!("/{database}"))),
                None => assert!(!env.contains_key("MONGO_URI"), "{}", service.name),
            }
            assert_eq!(env["NATS_CLIENT_ID"], format!("{}-local", service.name));
        }
    }

    #[test]
    fn the_client_calls_the_api_through_the_local_ingress() {
        let client = SERVICES
            .into_iter()
            .find(|service| service.name == "client")
            .unwrap();
        let env = env_of(&client, &[]);
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
