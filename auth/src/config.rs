//! The auth service's settings, read once from the environment.

use common::client_address::ClientAddressSettings;
use common::config::{self, ConfigError, Listen};
use common::session::SessionSettings;

use crate::limits::LimitSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the database (`mongodb://auth-mongo-srv:27017/auth`).
    pub mongo_uri: String,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`.
    pub sessions: SessionSettings,
    /// `RATE_LIMIT_AUTH_PER_ADDRESS`, `RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS`,
    /// `RATE_LIMIT_SIGN_IN_PER_EMAIL`, `RATE_LIMIT_MAX_KEYS`.
    pub limits: LimitSettings,
    /// `TRUSTED_PROXY`, `TRUSTED_FORWARDERS`: where the client's address is read from.
    pub client_addresses: ClientAddressSettings,
}

impl Config {
    /// Reads the settings; a missing `JWT_KEY` or `MONGO_URI` is `<NAME> must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri: config::required("MONGO_URI")?,
            sessions,
            limits: LimitSettings::from_env()?,
            client_addresses: ClientAddressSettings::from_env()?,
        })
    }
}
