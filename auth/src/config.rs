//! The auth service's settings, read once from the environment.

use common::config::{self, ConfigError};
use common::session::SessionSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` to bind (default all interfaces).
    pub host: String,
    /// `PORT` to listen on (default 3000; 0 picks a free one).
    pub port: u16,
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
            host: config::parsed_or("HOST", "0.0.0.0".to_owned())?,
            port: config::parsed_or("PORT", 3000)?,
            mongo_uri: config::required("MONGO_URI")?,
            sessions,
        })
    }
}
