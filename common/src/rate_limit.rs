//! Rate limits: keyed [`governor`] limiters with bounded memory, the settings that size them,
//! and the 429 they answer ([`ApiError::TooManyRequests`], with `Retry-After`).
//!
//! A [`Limit`] is a burst and a refill rate (GCRA, governor's algorithm): `10 then 1/60s`
//! lets 10 requests through at once, then one more every 60 seconds. Each [`KeyedLimiter`]
//! keeps one such bucket per key (an email, a client address, a user...). Its memory is bounded
//! twice over:
//!
//! - [`KeyedLimiter::prune`] (every [`PRUNE_EVERY`], see [`prune_until_stopped`]) forgets the
//!   keys whose bucket has refilled, which are indistinguishable from new ones;
//! - at most `max_keys` keys are kept ([`RATE_LIMIT_MAX_KEYS`](max_keys_from_env)). A key
//!   already kept keeps its own bucket; a new key arriving while the limiter is full shares one
//!   overflow bucket, of the same limit, with every other such key until pruning makes room.
//!   A flood of distinct keys thus slows the newcomers down together and never earns anyone
//!   more attempts than one key would get.
//!
//! Limits are checked before the expensive work they protect (a password hash, a Stripe call).

use std::hash::Hash;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::config::{self, ConfigError};
use crate::error::ApiError;

/// How often [`prune_until_stopped`] forgets refilled keys.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The default of `RATE_LIMIT_MAX_KEYS`: keys one limiter keeps (each about 100 bytes).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A burst and a refill rate: `burst` requests at once, then one every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many requests may come at once.
    pub burst: NonZeroU32,
    /// How long it takes to earn one more.
    pub every: Duration,
}

impl Limit {
    fn quota(self) -> Option<Quota> {
        Quota::with_period(self.every).map(|quota| quota.allow_burst(self.burst))
    }
}

/// A limit's setting: a [`Limit`], or off.
///
/// Written `<burst> then <n>/<period>`, e.g. `10 then 1/60s` (10 at once, then one every 60
/// seconds) or `1000 then 100/1s`; the period's unit is `ms`, `s`, `m` or `h`. `off` or `0`
/// turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSetting(pub Option<Limit>);

impl LimitSetting {
    /// No limit.
    pub const OFF: LimitSetting = LimitSetting(None);

    /// `burst` at once, then one every `seconds` seconds; off for a `burst` of 0.
    pub const fn per_seconds(burst: u32, seconds: u64) -> LimitSetting {
        match NonZeroU32::new(burst) {
            Some(burst) => LimitSetting(Some(Limit {
                burst,
                every: Duration::from_secs(seconds),
            })),
            None => LimitSetting::OFF,
        }
    }
}

impl FromStr for LimitSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        if text == "off" || text == "0" {
            return Ok(LimitSetting::OFF);
        }
        let expected = || format!("{text:?} is not `off` or `<burst> then <n>/<period>`");
        let (burst, refill) = text.split_once(" then ").ok_or_else(expected)?;
        let (count, period) = refill.trim().split_once('/').ok_or_else(expected)?;
        let burst: NonZeroU32 = burst.trim().parse().map_err(|_| expected())?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| expected())?;
        let period = parse_period(period.trim()).ok_or_else(expected)?;
        let every = period / count.get();
        if every.is_zero() {
            return Err(format!("{text:?} refills faster than once a nanosecond"));
        }
        Ok(LimitSetting(Some(Limit { burst, every })))
    }
}

/// `500ms`, `2s`, `1m`, `1h`: a positive whole number and its unit.
fn parse_period(text: &str) -> Option<Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok().filter(|number| *number > 0)?;
    let seconds = match unit {
        "ms" => return Some(Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(number.checked_mul(seconds)?))
}

/// The setting `name` (see [`LimitSetting`]), or `default` when it is not set.
pub fn limit_from_env(
    name: &'static str,
    default: LimitSetting,
) -> Result<LimitSetting, ConfigError> {
    config::parsed_or(name, default)
}

/// `RATE_LIMIT_MAX_KEYS` (default [`DEFAULT_MAX_KEYS`], at least 1): the most keys one limiter
/// keeps.
pub fn max_keys_from_env() -> Result<usize, ConfigError> {
    let max_keys: usize = config::parsed_or("RATE_LIMIT_MAX_KEYS", DEFAULT_MAX_KEYS)?;
    if max_keys == 0 {
        return Err(ConfigError::Invalid {
            name: "RATE_LIMIT_MAX_KEYS",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(max_keys)
}

/// One limit kept per key, in bounded memory (see the module docs). Cheap to clone: clones
/// share their buckets.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: Option<Arc<Limiter<K>>>,
}

type Limiter<K> =
    RateLimiter<K, CappedStore<K>, DefaultClock, NoOpMiddleware<<DefaultClock as Clock>::Instant>>;

impl<K: Hash + Eq + Clone> Clone for KeyedLimiter<K> {
    fn clone(&self) -> Self {
        KeyedLimiter {
            limiter: self.limiter.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter of `setting` for each key, keeping at most `max_keys` keys.
    pub fn new(setting: LimitSetting, max_keys: usize) -> Self {
        let limiter = setting.0.and_then(Limit::quota).map(|quota| {
            let store = CappedStore {
                keys: DashMapStateStore::default(),
                max_keys,
                overflow: InMemoryState::default(),
            };
            Arc::new(RateLimiter::new(quota, store, DefaultClock::default()))
        });
        KeyedLimiter { limiter }
    }

    /// Takes one request from `key`'s bucket, or says when one will be there:
    /// [`ApiError::TooManyRequests`]. Always passes when the limit is off.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            ApiError::TooManyRequests { retry_after: wait }
        })
    }

    /// Forgets the keys whose bucket is full again: they are as good as new.
    pub fn prune(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys it keeps.
    pub fn len(&self) -> usize {
        self.limiter.as_ref().map_or(0, |limiter| limiter.len())
    }

    /// Whether it keeps no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Calls `prune` every [`PRUNE_EVERY`] until `stop` is cancelled: a service's background task.
pub async fn prune_until_stopped(prune: impl Fn() + Send, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => prune(),
        }
    }
}

/// Governor's concurrent map of buckets, holding at most `max_keys` keys; a new key arriving
/// when it is full is measured against the one `overflow` bucket instead.
struct CappedStore<K: Hash + Eq + Clone> {
    keys: DashMapStateStore<K>,
    max_keys: usize,
    overflow: InMemoryState,
}

impl<K: Hash + Eq + Clone> StateStore for CappedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // Racing new keys may each see room for one: the cap holds to within the concurrency.
        if self.keys.len() >= self.max_keys && !self.keys.contains_key(key) {
            return self.overflow.measure_and_replace(&NotKeyed::NonKey, f);
        }
        self.keys.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for CappedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.keys, drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&self.keys);
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&self.keys)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(text: &str) -> Result<LimitSetting, String> {
        text.parse()
    }

    fn limit(burst: u32, every: Duration) -> LimitSetting {
        LimitSetting(Some(Limit {
            burst: NonZeroU32::new(burst).unwrap(),
            every,
        }))
    }

    #[test]
    fn settings_read_burst_then_refill() {
        assert_eq!(
            setting("10 then 1/60s"),
            Ok(limit(10, Duration::from_secs(60)))
        );
        assert_eq!(
            setting(" 30 THEN 1/2s "),
            Ok(limit(30, Duration::from_secs(2)))
        );
        assert_eq!(
            setting("50 then 2/1m"),
            Ok(limit(50, Duration::from_secs(30)))
        );
        assert_eq!(
            setting("5 then 1/1h"),
            Ok(limit(5, Duration::from_secs(3600)))
        );
        assert_eq!(
            setting("1000000 then 1000/1s"),
            Ok(limit(1_000_000, Duration::from_millis(1)))
        );
        assert_eq!(
            setting("3 then 1/250ms"),
            Ok(limit(3, Duration::from_millis(250)))
        );
    }

    #[test]
    fn off_and_zero_turn_a_limit_off() {
        assert_eq!(setting("off"), Ok(LimitSetting::OFF));
        assert_eq!(setting("OFF"), Ok(LimitSetting::OFF));
        assert_eq!(setting("0"), Ok(LimitSetting::OFF));
    }

    #[test]
    fn malformed_settings_are_refused() {
        for text in [
            "",
            "10",
            "10/60s",
            "0 then 1/60s",
            "10 then 0/60s",
            "10 then 1/0s",
            "10 then 1/60",
            "10 then 1/60d",
            "-1 then 1/60s",
            "ten then 1/60s",
            "10 then 1/s",
        ] {
            assert!(setting(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn an_unset_setting_is_its_default() {
        let default = LimitSetting::per_seconds(10, 60);
        assert_eq!(
            limit_from_env("TICKETING_TEST_SURELY_UNSET_LIMIT", default),
            Ok(default)
        );
    }

    fn wait_of(outcome: Result<(), ApiError>) -> Duration {
        match outcome {
            Err(ApiError::TooManyRequests { retry_after }) => retry_after,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn each_key_has_its_own_burst_then_waits_for_the_refill() {
        let limiter = KeyedLimiter::new(setting("3 then 1/1h").unwrap(), 100);
        for _ in 0..3 {
            limiter.check(&"a").unwrap();
        }
        let wait = wait_of(limiter.check(&"a"));
        assert!(
            wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
        limiter.check(&"b").unwrap();
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn an_off_limiter_lets_everything_through_and_keeps_nothing() {
        let limiter = KeyedLimiter::new(LimitSetting::OFF, 1);
        for key in 0..1000 {
            limiter.check(&(key % 3)).unwrap();
        }
        assert!(limiter.is_empty());
    }

    #[test]
    fn at_the_cap_known_keys_keep_their_buckets_and_new_ones_share_one() {
        let limiter = KeyedLimiter::new(setting("2 then 1/1h").unwrap(), 2);
        limiter.check(&"known-1").unwrap();
        limiter.check(&"known-2").unwrap();
        // Full: newcomers share the overflow bucket (2), whatever their key.
        limiter.check(&"new-1").unwrap();
        limiter.check(&"new-2").unwrap();
        wait_of(limiter.check(&"new-3"));
        wait_of(limiter.check(&"new-1"));
        assert_eq!(limiter.len(), 2);
        // The keys it kept still have their own second request.
        limiter.check(&"known-1").unwrap();
        limiter.check(&"known-2").unwrap();
        wait_of(limiter.check(&"known-1"));
    }

    #[test]
    fn pruning_forgets_refilled_keys_only() {
        let limiter = KeyedLimiter::new(setting("5 then 1/20ms").unwrap(), 100);
        limiter.check(&"quiet").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let slow = KeyedLimiter::new(setting("5 then 1/1h").unwrap(), 100);
        slow.check(&"busy").unwrap();
        limiter.prune();
        slow.prune();
        assert!(limiter.is_empty());
        assert_eq!(slow.len(), 1);
    }

    #[tokio::test]
    async fn the_pruning_task_ends_when_stopped() {
        let stop = CancellationToken::new();
        let task = tokio::spawn(prune_until_stopped(|| {}, stop.clone()));
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
