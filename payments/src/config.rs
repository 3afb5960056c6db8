//! The payments service's settings, read once from the environment.

use std::time::Duration;

use common::bus::listener::ListenerOptions;
use common::config::{self, ConfigError, Secret, ServiceSettings};
use common::rate_limit::{self, LimitSetting};

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it listens, its database (`mongodb://payments-mongo-srv:27017/payments`), sessions
    /// and the bus.
    pub service: ServiceSettings,
    /// How its listeners take deliveries.
    pub listener: ListenerOptions,
    /// `STRIPE_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE`, `STRIPE_TIMEOUT_SECONDS`.
    pub stripe: StripeSettings,
    /// When charges whose outcome was never recorded are settled.
    pub reconciler: ReconcilerSettings,
    /// `RATE_LIMIT_PAYMENTS_PER_ORDER`, `RATE_LIMIT_PAYMENTS_PER_USER`, `RATE_LIMIT_MAX_KEYS`.
    pub limits: PaymentLimitSettings,
    /// Simulated crashes, for tests only; never read from the environment.
    pub failpoints: Failpoints,
}

/// How the service reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `STRIPE_KEY`: the secret key (required).
    pub key: Secret,
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_...`): the signing secret of the webhook endpoint
    /// `POST /api/payments/webhook`. Setting it turns PaymentIntents on
    /// (`POST /api/payments/intents`); without it only card tokens are taken.
    pub webhook_secret: Option<Secret>,
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

/// The rate limits of payment attempts (`POST /api/payments`), checked before the order is
/// looked up or Stripe is called: they are what stops a card tester trying token after token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentLimitSettings {
    /// `RATE_LIMIT_PAYMENTS_PER_ORDER` (default `5 then 1/60s`): attempts on one order by its
    /// user (keyed on both, so nobody can spend another user's attempts).
    pub per_order: LimitSetting,
    /// `RATE_LIMIT_PAYMENTS_PER_USER` (default `20 then 1/30s`): attempts by one user on all
    /// their orders.
    pub per_user: LimitSetting,
    /// `RATE_LIMIT_MAX_KEYS` (default 100,000): keys each limiter keeps.
    pub max_keys: usize,
}

impl Default for PaymentLimitSettings {
    fn default() -> Self {
        PaymentLimitSettings {
            per_order: LimitSetting::per_seconds(5, 60),
            per_user: LimitSetting::per_seconds(20, 30),
            max_keys: rate_limit::DEFAULT_MAX_KEYS,
        }
    }
}

impl PaymentLimitSettings {
    /// Reads the settings; each unset one keeps its default.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = PaymentLimitSettings::default();
        Ok(PaymentLimitSettings {
            per_order: rate_limit::limit_from_env(
                "RATE_LIMIT_PAYMENTS_PER_ORDER",
                defaults.per_order,
            )?,
            per_user: rate_limit::limit_from_env(
                "RATE_LIMIT_PAYMENTS_PER_USER",
                defaults.per_user,
            )?,
            max_keys: rate_limit::max_keys_from_env()?,
        })
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
        let service = ServiceSettings::from_env()?;
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
            service,
            listener: ListenerOptions::from_env()?,
            stripe,
            reconciler,
            limits: PaymentLimitSettings::from_env()?,
            failpoints: Failpoints::default(),
        })
    }
}

impl StripeSettings {
    /// Reads `STRIPE_KEY` (required), `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE` and
    /// `STRIPE_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let key = Secret::new(config::required("STRIPE_KEY")?);
        Ok(StripeSettings {
            key,
            webhook_secret: config::optional("STRIPE_WEBHOOK_SECRET").map(Secret::new),
            api_base: config::optional("STRIPE_API_BASE"),
            timeout: seconds("STRIPE_TIMEOUT_SECONDS", 20)?,
        })
    }
}

/// A number of seconds from `name`, else `default`: at least one, at most a day.
fn seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    config::seconds(name, default, 1..=24 * 3600)
}
