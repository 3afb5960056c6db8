//! The tickets service's settings, read once from the environment.

use common::bus::BusSettings;
use common::config::{self, ConfigError, Listen};
use common::session::SessionSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the database (`mongodb://tickets-mongo-srv:27017/tickets`).
    pub mongo_uri: String,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`.
    pub sessions: SessionSettings,
    /// `NATS_CLIENT_ID` and `NATS_URL`.
    pub bus: BusSettings,
}

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        let mongo_uri = config::required("MONGO_URI")?;
        let bus = BusSettings::from_env()?;
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri,
            sessions,
            bus,
        })
    }
}
