//! Reading settings from the environment, once, at start-up.
//!
//! A service refuses to start without a setting it needs, saying `<NAME> must be defined`.
//! This module reads single settings; [`service`] holds the ones every service with a database
//! reads alike.

mod service;

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

pub use service::{Connections, ServiceSettings};

/// A missing or unreadable setting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Not set, or set to an empty string.
    #[error("{0} must be defined")]
    Missing(&'static str),
    /// Set, but not a valid value.
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where a service listens: `HOST` (default all interfaces) and `PORT` (default 3000, the
/// original's; 0 picks a free port), and how long it lets a request take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub host: String,
    pub port: u16,
    /// `METRICS_PORT` (default 9464; 0 picks a free port): where `GET /metrics` is served, on
    /// the same host, apart from the API so that no route of the ingress leads to it.
    pub metrics_port: u16,
    /// `REQUEST_TIMEOUT_SECONDS` (default 30): a request not answered by then gets 503; its
    /// work still runs to its end (see `common::server`).
    pub request_timeout: Duration,
}

/// [`Listen::request_timeout`] by default, in seconds.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;

impl Listen {
    /// Reads `HOST`, `PORT`, `METRICS_PORT` and `REQUEST_TIMEOUT_SECONDS` (at least 1).
    pub fn from_env() -> Result<Listen, ConfigError> {
        let timeout = parsed_or("REQUEST_TIMEOUT_SECONDS", DEFAULT_REQUEST_TIMEOUT_SECONDS)?;
        if timeout == 0 {
            return Err(ConfigError::Invalid {
                name: "REQUEST_TIMEOUT_SECONDS",
                reason: "at least 1 second".to_owned(),
            });
        }
        Ok(Listen {
            host: parsed_or("HOST", "0.0.0.0".to_owned())?,
            port: parsed_or("PORT", 3000)?,
            metrics_port: parsed_or("METRICS_PORT", crate::metrics::DEFAULT_PORT)?,
            request_timeout: Duration::from_secs(timeout),
        })
    }

    /// A free port on the loopback interface, for tests.
    pub fn loopback_any_port() -> Listen {
        Listen {
            host: "127.0.0.1".to_owned(),
            port: 0,
            metrics_port: 0,
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECONDS),
        }
    }
}

/// The value of `name`, which must be set and non-empty.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// The value of `name` parsed as `T`, or `default` when it is not set.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            value
                .trim()
                .parse()
                .map_err(|error: T::Err| ConfigError::Invalid {
                    name,
                    reason: error.to_string(),
                })
        }
        _ => Ok(default),
    }
}

/// The value of `name` parsed as a number of at least 1, or `default` when it is not set.
pub fn positive<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + From<u8>,
    T::Err: fmt::Display,
{
    let value = parsed_or(name, default)?;
    if value < T::from(1) {
        return Err(ConfigError::Invalid {
            name,
            reason: "at least 1".to_owned(),
        });
    }
    Ok(value)
}

/// The value of `name`, trimmed, if it is set and not empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `name` as whole seconds within `range`, or `default` seconds when it is not set.
pub fn seconds(
    name: &'static str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let value = parsed_or(name, default)?;
    if !range.contains(&value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("between {} and {} seconds", range.start(), range.end()),
        });
    }
    Ok(Duration::from_secs(value))
}

/// A boolean flag: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, `default` when unset.
pub fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name).map(|value| value.trim().to_ascii_lowercase()) {
        Ok(value) if value.is_empty() => Ok(default),
        Ok(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("{value:?} is not a boolean"),
            }),
        },
        Err(_) => Ok(default),
    }
}

/// A secret setting: its `Debug` never shows the value, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_settings_are_named() {
        assert_eq!(
            required("TICKETING_TEST_SURELY_UNSET")
                .unwrap_err()
                .to_string(),
            "TICKETING_TEST_SURELY_UNSET must be defined"
        );
        assert_eq!(parsed_or("TICKETING_TEST_SURELY_UNSET", 7_u16), Ok(7));
        assert_eq!(flag("TICKETING_TEST_SURELY_UNSET", true), Ok(true));
        assert_eq!(optional("TICKETING_TEST_SURELY_UNSET"), None);
        assert_eq!(positive("TICKETING_TEST_SURELY_UNSET", 3_usize), Ok(3));
        assert_eq!(
            seconds("TICKETING_TEST_SURELY_UNSET", 5, 1..=10),
            Ok(Duration::from_secs(5))
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
