//! The revoked tokens and banned users one service knows of, held in memory: what its
//! session extractors ask before they trust a token ([`Revocations::allows`]).
//!
//! [`crate::revocation`] fills the set from the key-value bucket every service follows, and
//! says what its keys and values are; [`crate::session`] consults it. The set never holds more
//! than `REVOCATIONS_MAX_ENTRIES` entries, and drops each one once no token it can affect is
//! still alive.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::config::{self, ConfigError};

/// Revocation settings, read from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationSettings {
    /// `REVOCATIONS_MAX_ENTRIES`: revoked tokens and banned users held at once (default
    /// 100,000: about 16 MB in each service at most).
    pub max_entries: u64,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        RevocationSettings {
            max_entries: 100_000,
        }
    }
}

impl RevocationSettings {
    /// Reads `REVOCATIONS_MAX_ENTRIES`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(RevocationSettings {
            max_entries: config::parsed_or("REVOCATIONS_MAX_ENTRIES", 100_000_u64)?,
        })
    }
}

/// What a user's entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserEntry {
    /// Banned (every token refused), or unbanned (tokens issued before `at` refused).
    pub(crate) banned: bool,
    /// When it was written, in seconds since the epoch.
    pub(crate) at: u64,
}

/// What a revoked token's entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenEntry {
    /// The token's own expiry.
    pub(crate) exp: u64,
}

/// The revoked tokens and banned users a service knows of. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Revocations(Arc<RwLock<Known>>);

#[derive(Debug, Default)]
struct Known {
    /// Revoked token ids, each with the moment it no longer matters (its expiry).
    tokens: HashMap<String, u64>,
    /// Users with an entry, each with the moment it no longer matters.
    users: HashMap<String, (UserEntry, u64)>,
    /// The most entries held at once.
    cap: u64,
}

impl Revocations {
    /// A set that nothing feeds: for code that only issues tokens, and for unit tests. A
    /// service that reads sessions gets its set from
    /// [`RevocationBucket::follow`](crate::revocation::RevocationBucket::follow).
    pub fn unshared() -> Revocations {
        Revocations::with_cap(u64::MAX)
    }

    /// An empty set that holds at most `cap` entries.
    pub(crate) fn with_cap(cap: u64) -> Revocations {
        Revocations(Arc::new(RwLock::new(Known {
            cap,
            ..Known::default()
        })))
    }

    /// Whether `claims` still stand: the token is not revoked, its user not banned, and it
    /// was not issued before the user's ban was lifted.
    pub fn allows(&self, claims: &Claims) -> bool {
        let Ok(known) = self.0.read() else {
            // A writer panicked mid-update: nothing can be trusted.
            return false;
        };
        if known.tokens.contains_key(&claims.jti) {
            return false;
        }
        match known.users.get(&claims.id) {
            Some((UserEntry { banned: true, .. }, _)) => false,
            Some((UserEntry { banned: false, at }, _)) => claims.iat >= *at,
            None => true,
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.0
            .read()
            .map(|known| known.tokens.len() + known.users.len())
            .unwrap_or_default()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies the bucket's entry `key` (`None`: deleted), written at `written` (seconds), for
    /// tokens living `ttl` seconds. Unknown keys and unreadable values are ignored.
    pub(crate) fn apply(&self, key: &str, value: Option<&[u8]>, written: u64, ttl: u64) {
        let Ok(mut known) = self.0.write() else {
            return;
        };
        let full = known.tokens.len() + known.users.len() >= known.cap as usize;
        if let Some(jti) = key.strip_prefix("token.") {
            match value.and_then(|value| serde_json::from_slice::<TokenEntry>(value).ok()) {
                Some(_) if full && !known.tokens.contains_key(jti) => {
                    tracing::error!(jti, "revocation set full: a revoked token is not held");
                }
                Some(entry) => {
                    known.tokens.insert(jti.to_owned(), entry.exp);
                }
                None => {
                    known.tokens.remove(jti);
                }
            }
        } else if let Some(user) = key.strip_prefix("user.") {
            match value.and_then(|value| serde_json::from_slice::<UserEntry>(value).ok()) {
                Some(_) if full && !known.users.contains_key(user) => {
                    tracing::error!(user, "revocation set full: a ban is not held");
                }
                Some(entry) => {
                    // Tokens issued before it expire within one lifetime of it.
                    known
                        .users
                        .insert(user.to_owned(), (entry, written.max(entry.at) + ttl));
                }
                None => {
                    known.users.remove(user);
                }
            }
        }
    }

    /// Drops the entries that can affect no unexpired token at `now`.
    pub(crate) fn prune(&self, now: u64) {
        if let Ok(mut known) = self.0.write() {
            known.tokens.retain(|_, until| *until > now);
            known.users.retain(|_, (_, until)| *until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(id: &str, jti: &str, iat: u64) -> Claims {
        Claims {
            id: id.to_owned(),
            email: "a@b.co".to_owned(),
            iat,
            exp: iat + 100,
            jti: jti.to_owned(),
        }
    }

    fn json(value: &str) -> Option<&[u8]> {
        Some(value.as_bytes())
    }

    #[test]
    fn a_revoked_token_is_refused_and_its_siblings_are_not() {
        let set = Revocations::unshared();
        set.apply("token.j1", json(r#"{"exp":1100}"#), 1000, 100);
        assert!(!set.allows(&claims("u1", "j1", 1000)));
        assert!(set.allows(&claims("u1", "j2", 1000)));
    }

    #[test]
    fn a_ban_refuses_every_token_and_lifting_it_only_later_ones() {
        let set = Revocations::unshared();
        set.apply("user.u1", json(r#"{"banned":true,"at":1000}"#), 1000, 100);
        assert!(!set.allows(&claims("u1", "j1", 990)));
        assert!(!set.allows(&claims("u1", "j2", 1001)));
        assert!(set.allows(&claims("u2", "j3", 990)));
        set.apply("user.u1", json(r#"{"banned":false,"at":1010}"#), 1010, 100);
        assert!(!set.allows(&claims("u1", "j1", 990)));
        assert!(set.allows(&claims("u1", "j4", 1010)));
    }

    #[test]
    fn entries_vanish_once_no_token_they_affect_can_be_alive() {
        let set = Revocations::unshared();
        set.apply("token.j1", json(r#"{"exp":1100}"#), 1000, 100);
        set.apply("user.u1", json(r#"{"banned":true,"at":1000}"#), 1000, 100);
        set.prune(1099);
        assert_eq!(set.len(), 2);
        set.prune(1100);
        assert!(set.is_empty());
    }

    #[test]
    fn the_set_holds_no_more_than_its_cap_and_ignores_what_it_cannot_read() {
        let set = Revocations::with_cap(2);
        set.apply("token.j1", json(r#"{"exp":1100}"#), 1000, 100);
        set.apply("user.u1", json(r#"{"banned":true,"at":1000}"#), 1000, 100);
        set.apply("token.j2", json(r#"{"exp":1100}"#), 1000, 100);
        assert_eq!(set.len(), 2);
        set.apply("token.j1", None, 1000, 100);
        set.apply("other.x", json("{}"), 1000, 100);
        set.apply("token.j3", json("not json"), 1000, 100);
        assert_eq!(set.len(), 1);
    }
}
