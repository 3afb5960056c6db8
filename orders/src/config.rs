//! The orders service's settings, read once from the environment.

use std::time::Duration;

use common::bus::listener::ListenerOptions;
use common::config::{self, ConfigError, ServiceSettings};

/// The original's product rule: 15 minutes to pay (docs/decisions.md #7).
const DEFAULT_EXPIRATION_WINDOW_SECONDS: u64 = 15 * 60;
/// A year: far beyond any sensible window, and well inside what a date can hold.
const MAX_EXPIRATION_WINDOW_SECONDS: u64 = 365 * 24 * 3600;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it listens, its database (`mongodb://orders-mongo-srv:27017/orders`), sessions
    /// and the bus.
    pub service: ServiceSettings,
    /// How its listeners take deliveries.
    pub listener: ListenerOptions,
    /// `EXPIRATION_WINDOW_SECONDS` (default 900): how long a new order waits for payment.
    pub expiration_window: Duration,
    /// `MAX_UNPAID_ORDERS` (default 5): how many unpaid orders one buyer may hold at once.
    pub max_unpaid_orders: u64,
}

/// One buyer's unpaid orders at once, by default: enough to buy for a group, too few to hold a
/// catalogue hostage.
pub const DEFAULT_MAX_UNPAID_ORDERS: u64 = 5;

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            service: ServiceSettings::from_env()?,
            listener: ListenerOptions::from_env()?,
            expiration_window: config::seconds(
                "EXPIRATION_WINDOW_SECONDS",
                DEFAULT_EXPIRATION_WINDOW_SECONDS,
                0..=MAX_EXPIRATION_WINDOW_SECONDS,
            )?,
            max_unpaid_orders: config::parsed_or("MAX_UNPAID_ORDERS", DEFAULT_MAX_UNPAID_ORDERS)?,
        })
    }
}
