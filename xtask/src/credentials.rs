//! The local stack's credentials: made once per data directory and kept there, in
//! `credentials.json`, readable by its owner only.
//!
//! Every connection of the local stack authenticates, as in Kubernetes: each service signs in
//! to MongoDB as its own user, to NATS as its own user with only its permissions, and
//! expiration to Redis with its password. The session key is random too, never a constant of
//! the source: a constant would let anyone forge a session on anyone's local stack. `JWT_KEY`
//! in xtask's environment wins over the stored one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::catalog::SERVICES;

/// The file, in the data directory.
const FILE: &str = "credentials.json";

/// The NATS users: the services that use the bus, and the operator (for people).
pub(crate) fn nats_users() -> impl Iterator<Item = &'static str> {
    SERVICES
        .iter()
        .filter(|service| service.bus)
        .map(|service| service.name)
        .chain(["operator"])
}

/// Everything a local stack signs in with. Its `Debug` shows no secret.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// The session signing key (64 hex digits).
    pub(crate) jwt_key: String,
    /// The MongoDB administrator's password (user `admin`).
    pub(crate) mongo_admin: String,
    /// Each service's MongoDB password, by service (the user is named after it).
    pub(crate) mongo: BTreeMap<String, String>,
    /// Each NATS user's password, by user.
    pub(crate) nats: BTreeMap<String, String>,
    /// Redis's password.
    pub(crate) redis: String,
    /// The Stripe stand-in's webhook signing secret (`whsec_...`).
    #[serde(default)]
    pub(crate) stripe_webhook: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl Credentials {
    /// The credentials kept in `data_dir`, made (and kept) if there are none yet. Ones made
    /// before a service or user existed get what is missing.
    pub(crate) fn load_or_make(data_dir: &Path) -> anyhow::Result<Credentials> {
        let path = data_dir.join(FILE);
        let stored = match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str::<Credentials>(&text)
                    .with_context(|| format!("{} is not readable; remove it to start afresh (and the data directory's mongo/ with it)", path.display()))?,
            ),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", path.display()));
            }
        };
        let made = Credentials::completed(stored.clone())?;
        if stored.as_ref() != Some(&made) {
            let text = serde_json::to_string_pretty(&made)?;
            devservers::secrets::write_private(&path, &text)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(made)
    }

    /// `stored` with a fresh password for everything it lacks.
    fn completed(stored: Option<Credentials>) -> anyhow::Result<Credentials> {
        let fresh = || devservers::secrets::random_password().context("no random password");
        let mut credentials = match stored {
            Some(stored) => stored,
            None => Credentials {
                jwt_key: format!("{}{}", fresh()?, fresh()?),
                mongo_admin: fresh()?,
                mongo: BTreeMap::new(),
                nats: BTreeMap::new(),
                redis: fresh()?,
                stripe_webhook: String::new(),
            },
        };
        if credentials.stripe_webhook.is_empty() {
            credentials.stripe_webhook = format!("whsec_{}", fresh()?);
        }
        for service in SERVICES.iter().filter(|service| service.database.is_some()) {
            if !credentials.mongo.contains_key(service.name) {
                credentials.mongo.insert(service.name.to_owned(), fresh()?);
            }
        }
        for user in nats_users() {
            if !credentials.nats.contains_key(user) {
                credentials.nats.insert(user.to_owned(), fresh()?);
            }
        }
        Ok(credentials)
    }

    /// Where they are kept for `data_dir`.
    pub(crate) fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_per_data_directory_and_kept_private() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = std::env::temp_dir().join(format!(
            "xtask-credentials-{}",
            devservers::secrets::random_password().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let first = Credentials::load_or_make(&dir).unwrap();
        let again = Credentials::load_or_make(&dir).unwrap();
        assert_eq!(first, again, "kept, not made anew");
        assert_eq!(first.jwt_key.len(), 64);
        assert!(first.stripe_webhook.starts_with("whsec_"));
        assert_eq!(first.nats.len(), nats_users().count());
        assert!(first.mongo.contains_key("tickets") && !first.mongo.contains_key("client"));
        let mode = std::fs::metadata(Credentials::path(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let other = std::env::temp_dir().join(format!(
            "xtask-credentials-{}",
            devservers::secrets::random_password().unwrap()
        ));
        std::fs::create_dir_all(&other).unwrap();
        assert_ne!(
            Credentials::load_or_make(&other).unwrap().jwt_key,
            first.jwt_key,
            "each data directory has its own key"
        );
        for dir in [dir, other] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
