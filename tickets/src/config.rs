//! The tickets service's settings, read once from the environment.

use common::bus::listener::ListenerOptions;
use common::config::{ConfigError, ServiceSettings};

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it listens, its database (`mongodb://tickets-mongo-srv:27017/tickets`), sessions
    /// and the bus.
    pub service: ServiceSettings,
    /// How its listeners take deliveries.
    pub listener: ListenerOptions,
}

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            service: ServiceSettings::from_env()?,
            listener: ListenerOptions::from_env()?,
        })
    }
}
