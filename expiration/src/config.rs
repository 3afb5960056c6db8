//! The expiration service's settings, read once from the environment.

use common::bus::BusSettings;
use common::bus::listener::ListenerOptions;
use common::config::{self, ConfigError, Listen, Secret, optional};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::jobs::DEFAULT_QUEUE;

/// The port Redis listens on when `REDIS_PORT` is not set.
const DEFAULT_REDIS_PORT: u16 = 6379;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`: where `/healthz` and `/readyz` answer.
    pub listen: Listen,
    /// `NATS_CLIENT_ID` and `NATS_URL`. The client id also names this replica's job worker.
    pub bus: BusSettings,
    /// How its `order:created` listener takes deliveries.
    pub listener: ListenerOptions,
    /// `REDIS_URL`, or else `redis://:REDIS_PASSWORD@REDIS_HOST:REDIS_PORT` (port 6379 by
    /// default; no password if `REDIS_PASSWORD` is not set). A secret: it carries the password.
    pub redis_url: Secret,
    /// `EXPIRATION_QUEUE`: the job queue, which prefixes every Redis key of the jobs (default
    /// `order:expiration`, the original's Bull queue). Replicas share it; tests set their own.
    pub queue: String,
}

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `NATS_CLIENT_ID`, `NATS_URL`, then `REDIS_HOST` (needed only without `REDIS_URL`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let bus = BusSettings::from_env()?;
        let redis_url = match optional("REDIS_URL") {
            Some(url) => url,
            None => redis_url(
                &config::required("REDIS_HOST")?,
                config::parsed_or("REDIS_PORT", DEFAULT_REDIS_PORT)?,
                optional("REDIS_PASSWORD").as_deref(),
            ),
        };
        Ok(Config {
            listen: Listen::from_env()?,
            bus,
            listener: ListenerOptions::from_env()?,
            redis_url: Secret::new(redis_url),
            queue: config::parsed_or("EXPIRATION_QUEUE", DEFAULT_QUEUE.to_owned())?,
        })
    }
}

/// The URL of the Redis server at `host:port`, signing in with `password` if given.
fn redis_url(host: &str, port: u16, password: Option<&str>) -> String {
    match password {
        Some(password) => format!(
            "redis://:{}@{}:{port}",
            utf8_percent_encode(password, NON_ALPHANUMERIC),
            host.trim()
        ),
        None => format!("redis://{}:{port}", host.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redis_url_is_built_from_host_and_port() {
        assert_eq!(
            redis_url("expiration-redis-srv", 6379, None),
            "redis://expiration-redis-srv:6379"
        );
        assert_eq!(
            redis_url(" localhost ", 6380, None),
            "redis://localhost:6380"
        );
        assert_eq!(
            redis_url("localhost", 6379, Some("p@ss:w/rd")),
            "redis://:p%40ss%3Aw%2Frd@localhost:6379"
        );
    }
}
