//! The auth service's settings, read once from the environment.

use common::client_address::ClientAddressSettings;
use common::config::{ConfigError, ServiceSettings};

use crate::limits::LimitSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it listens, its database (`mongodb://auth-mongo-srv:27017/auth`), sessions, and
    /// the bus, where revocations and bans are written for every service.
    pub service: ServiceSettings,
    /// `RATE_LIMIT_AUTH_PER_ADDRESS`, `RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS`,
    /// `RATE_LIMIT_SIGN_IN_PER_EMAIL`, `RATE_LIMIT_MAX_KEYS`.
    pub limits: LimitSettings,
    /// `TRUSTED_PROXY`, `TRUSTED_FORWARDERS`: where the client's address is read from.
    pub client_addresses: ClientAddressSettings,
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
    /// Reads the settings: auth's own first, so a malformed one is named even where nothing
    /// else is set yet, then the shared ones; a missing `JWT_KEY`, `MONGO_URI`,
    /// `NATS_CLIENT_ID` or `NATS_URL` is `<NAME> must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let limits = LimitSettings::from_env()?;
        let client_addresses = ClientAddressSettings::from_env()?;
        Ok(Config {
            service: ServiceSettings::from_env()?,
            limits,
            client_addresses,
            admin_emails: admin_emails(),
        })
    }
}
