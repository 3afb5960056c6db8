//! The orders service's settings, read once from the environment.

use std::time::Duration;

use common::bus::BusSettings;
use common::bus::listener::ListenerOptions;
use common::config::{self, ConfigError, Listen};
use common::session::SessionSettings;

/// The original's product rule: 15 minutes to pay (CONTRACT A.2 #7).
const DEFAULT_EXPIRATION_WINDOW_SECONDS: u64 = 15 * 60;
/// A year: far beyond any sensible window, and well inside what a date can hold.
const MAX_EXPIRATION_WINDOW_SECONDS: u64 = 365 * 24 * 3600;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the database (`mongodb://orders-mongo-srv:27017/orders`).
    pub mongo_uri: String,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`.
    pub sessions: SessionSettings,
    /// `NATS_CLIENT_ID` and `NATS_URL`.
    pub bus: BusSettings,
    /// `EXPIRATION_WINDOW_SECONDS` (default 900): how long a new order waits for payment.
    pub expiration_window: Duration,
    /// `MAX_UNPAID_ORDERS` (default 5): how many unpaid orders one buyer may hold at once.
    pub max_unpaid_orders: u64,
    /// Delivery settings of the listeners (the defaults; tests shorten the retry delays).
    pub listener: ListenerOptions,
}

/// One buyer's unpaid orders at once, by default: enough to buy for a group, too few to hold a
/// catalogue hostage.
pub const DEFAULT_MAX_UNPAID_ORDERS: u64 = 5;

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        let mongo_uri = config::required("MONGO_URI")?;
        let bus = BusSettings::from_env()?;
        let window = config::parsed_or(
            "EXPIRATION_WINDOW_SECONDS",
            DEFAULT_EXPIRATION_WINDOW_SECONDS,
        )?;
        if window > MAX_EXPIRATION_WINDOW_SECONDS {
            return Err(ConfigError::Invalid {
                name: "EXPIRATION_WINDOW_SECONDS",
                reason: format!("at most {MAX_EXPIRATION_WINDOW_SECONDS} seconds"),
            });
        }
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri,
            sessions,
            bus,
            expiration_window: Duration::from_secs(window),
            max_unpaid_orders: config::parsed_or("MAX_UNPAID_ORDERS", DEFAULT_MAX_UNPAID_ORDERS)?,
            listener: ListenerOptions::default(),
        })
    }
}
