//! The auth service's rate limits, checked before any password is hashed: a guessed password
//! costs the guesser its budget, and a flood cannot queue real sign-ins behind the hashing
//! threads (see `docs/security.md`, "Rate limits").
//!
//! - per client address, sign-ins and sign-ups together (`RATE_LIMIT_AUTH_PER_ADDRESS`);
//! - per (email, client address), sign-ins (`RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS`): tight;
//! - per email from every address, sign-ins (`RATE_LIMIT_SIGN_IN_PER_EMAIL`): generous, and
//!   refilling at least as fast as one (email, address) pair, so one attacker's address cannot
//!   drain it and lock the real user out from elsewhere.
//!
//! They are checked in that order, each only once the ones before it passed: an address that
//! ran out adds no keys to the others, and a pair that ran out draws nothing more from its
//! email's budget.

use std::net::IpAddr;

use common::ApiError;
use common::client_address::ClientAddress;
use common::config::ConfigError;
use common::rate_limit::{self, KeyedLimiter, LimitSetting};

/// What sizes the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// `RATE_LIMIT_AUTH_PER_ADDRESS` (default `30 then 1/2s`).
    pub per_address: LimitSetting,
    /// `RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS` (default `10 then 1/60s`).
    pub per_email_and_address: LimitSetting,
    /// `RATE_LIMIT_SIGN_IN_PER_EMAIL` (default `50 then 1/30s`).
    pub per_email: LimitSetting,
    /// `RATE_LIMIT_MAX_KEYS` (default 100,000): keys each limiter keeps.
    pub max_keys: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            per_address: LimitSetting::per_seconds(30, 2),
            per_email_and_address: LimitSetting::per_seconds(10, 60),
            per_email: LimitSetting::per_seconds(50, 30),
            max_keys: rate_limit::DEFAULT_MAX_KEYS,
        }
    }
}

impl LimitSettings {
    /// Every limit off.
    pub fn off() -> Self {
        LimitSettings {
            per_address: LimitSetting::OFF,
            per_email_and_address: LimitSetting::OFF,
            per_email: LimitSetting::OFF,
            ..LimitSettings::default()
        }
    }

    /// Reads the settings; each unset one keeps its default.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = LimitSettings::default();
        Ok(LimitSettings {
            per_address: rate_limit::limit_from_env(
                "RATE_LIMIT_AUTH_PER_ADDRESS",
                defaults.per_address,
            )?,
            per_email_and_address: rate_limit::limit_from_env(
                "RATE_LIMIT_SIGN_IN_PER_EMAIL_AND_ADDRESS",
                defaults.per_email_and_address,
            )?,
            per_email: rate_limit::limit_from_env(
                "RATE_LIMIT_SIGN_IN_PER_EMAIL",
                defaults.per_email,
            )?,
            max_keys: rate_limit::max_keys_from_env()?,
        })
    }
}

/// The limiters. Cheap to clone: clones share their buckets.
#[derive(Clone)]
pub struct AuthLimits {
    per_address: KeyedLimiter<IpAddr>,
    per_email_and_address: KeyedLimiter<(String, IpAddr)>,
    per_email: KeyedLimiter<String>,
}

impl AuthLimits {
    /// Empty limiters sized by `settings`.
    pub fn new(settings: &LimitSettings) -> Self {
        AuthLimits {
            per_address: KeyedLimiter::new(settings.per_address, settings.max_keys),
            per_email_and_address: KeyedLimiter::new(
                settings.per_email_and_address,
                settings.max_keys,
            ),
            per_email: KeyedLimiter::new(settings.per_email, settings.max_keys),
        }
    }

    /// A sign-in for `email` (normalised) from `client`: 429 once a limit is reached.
    pub fn check_sign_in(&self, email: &str, client: ClientAddress) -> Result<(), ApiError> {
        let address = client.limit_key();
        self.per_address.check(&address)?;
        self.per_email_and_address
            .check(&(email.to_owned(), address))?;
        self.per_email.check(&email.to_owned())
    }

    /// A sign-up from `client`: 429 once its address's limit is reached.
    pub fn check_sign_up(&self, client: ClientAddress) -> Result<(), ApiError> {
        self.per_address.check(&client.limit_key())
    }

    /// Forgets the keys whose buckets have refilled.
    pub fn prune(&self) {
        self.per_address.prune();
        self.per_email_and_address.prune();
        self.per_email.prune();
    }
}
