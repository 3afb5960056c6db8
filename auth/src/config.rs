//! The auth service's settings, read once from the environment.

use common::bus::BusSettings;
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
    /// `NATS_CLIENT_ID`, `NATS_URL`, `NATS_USER`, `NATS_PASSWORD`: the bus, where revocations
    /// and bans are written for every service.
    pub bus: BusSettings,
    /// `ADMIN_EMAILS`: comma-separated emails of the users who may ban (default none).
    pub admin_emails: Vec<String>,
}

/// The emails of `ADMIN_EMAILS` (comma-separated), trimmed and lower-cased as stored.
fn admin_emails() -> Vec<String> {
    std::env::var("ADMIN_EMAILS")
        .unwrap_or_default()
        .split(',')
        .map(crate::models::user::normalize_email)
        .filter(|email| !email.is_empty())
        .collect()
}

impl Config {
    /// Reads the settings; a missing `JWT_KEY`, `MONGO_URI` or `NATS_URL` is
    /// `<NAME> must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri: config::required("MONGO_URI")?,
            sessions,
            limits: LimitSettings::from_env()?,
            client_addresses: ClientAddressSettings::from_env()?,
            bus: BusSettings::from_env()?,
            admin_emails: admin_emails(),
        })
    }
}
