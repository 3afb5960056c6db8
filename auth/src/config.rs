//! The auth service's settings, read once from the environment.

use common::config::{self, ConfigError, Listen};
use common::session::SessionSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the database (`mongodb://auth-mongo-srv:27017/auth`).
    pub mongo_uri: String,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`.
    pub sessions: SessionSettings,
}

impl Config {
    /// Reads the settings; a missing `JWT_KEY` or `MONGO_URI` is `<NAME> must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri: config::required("MONGO_URI")?,
            sessions,
        })
    }
}
