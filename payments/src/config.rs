//! The payments service's settings, read once from the environment.

use std::time::Duration;

use common::bus::BusSettings;
use common::bus::listener::ListenerOptions;
use common::config::{self, ConfigError, Listen, Secret};
use common::session::SessionSettings;

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` and `PORT`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the database (`mongodb://payments-mongo-srv:27017/payments`).
    pub mongo_uri: String,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`.
    pub sessions: SessionSettings,
    /// `NATS_CLIENT_ID` and `NATS_URL`.
    pub bus: BusSettings,
    /// `STRIPE_KEY`, `STRIPE_API_BASE`, `STRIPE_TIMEOUT_SECONDS`.
    pub stripe: StripeSettings,
    /// When charges whose outcome was never recorded are settled.
    pub reconciler: ReconcilerSettings,
    /// Delivery settings of the listeners (the defaults; tests shorten the retry delays).
    pub listener: ListenerOptions,
    /// Simulated crashes, for tests only; never read from the environment.
    pub failpoints: Failpoints,
}

/// How the service reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `STRIPE_KEY`: the secret key (required).
    pub key: Secret,
    /// `STRIPE_API_BASE`: Stripe's base URL (default `https://api.stripe.com/`); tests and the
    /// local stack point it at a fake.
    pub api_base: Option<String>,
    /// `STRIPE_TIMEOUT_SECONDS` (default 20): how long one call to Stripe may take. It must stay
    /// below [`ReconcilerSettings::after`], so the reconciler never settles a charge a request
    /// is still waiting for.
    pub timeout: Duration,
}

/// The reconciler: charges recorded as attempted but never settled (the service died between
/// calling Stripe and recording the outcome, or Stripe's answer was lost) are replayed with
/// their idempotency key and settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilerSettings {
    /// `RECONCILE_INTERVAL_SECONDS` (default 5): how often it looks.
    pub interval: Duration,
    /// `RECONCILE_AFTER_SECONDS` (default 30): how old an unsettled attempt must be.
    pub after: Duration,
}

impl Default for ReconcilerSettings {
    fn default() -> Self {
        ReconcilerSettings {
            interval: Duration::from_secs(5),
            after: Duration::from_secs(30),
        }
    }
}

/// Places where a test can make the service "crash" (stop handling a request abruptly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failpoints {
    /// The request ends with a 500 right after Stripe charged the card, before anything is
    /// recorded, as if the process died there.
    pub crash_after_charge: bool,
}

impl Config {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`, then `STRIPE_KEY`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        let mongo_uri = config::required("MONGO_URI")?;
        let bus = BusSettings::from_env()?;
        let stripe = StripeSettings::from_env()?;
        let reconciler = ReconcilerSettings {
            interval: seconds("RECONCILE_INTERVAL_SECONDS", 5)?,
            after: seconds("RECONCILE_AFTER_SECONDS", 30)?,
        };
        if stripe.timeout >= reconciler.after {
            return Err(ConfigError::Invalid {
                name: "STRIPE_TIMEOUT_SECONDS",
                reason: "must be shorter than RECONCILE_AFTER_SECONDS".to_owned(),
            });
        }
        Ok(Config {
            listen: Listen::from_env()?,
            mongo_uri,
            sessions,
            bus,
            stripe,
            reconciler,
            listener: ListenerOptions::default(),
            failpoints: Failpoints::default(),
        })
    }
}

impl StripeSettings {
    /// Reads `STRIPE_KEY` (required), `STRIPE_API_BASE` and `STRIPE_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let key = Secret::new(config::required("STRIPE_KEY")?);
        let api_base = std::env::var("STRIPE_API_BASE")
            .ok()
            .map(|base| base.trim().to_owned())
            .filter(|base| !base.is_empty());
        Ok(StripeSettings {
            key,
            api_base,
            timeout: seconds("STRIPE_TIMEOUT_SECONDS", 20)?,
        })
    }
}

/// A positive number of seconds from `name`, else `default`.
fn seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let value: u64 = config::parsed_or(name, default)?;
    if value == 0 || value > 24 * 3600 {
        return Err(ConfigError::Invalid {
            name,
            reason: "between 1 and 86400 seconds".to_owned(),
        });
    }
    Ok(Duration::from_secs(value))
}
