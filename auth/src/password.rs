//! Password hashing: scrypt in the original's `<hex(key)>.<salt>` format, off the async runtime.
//!
//! scrypt (N=16384, r=8, p=1) costs about 16 MiB and tens of milliseconds per hash, so it runs on
//! the blocking pool, never on a runtime worker, and at most one hash per core runs at once:
//! a burst of sign-ins queues instead of stalling other requests or using gigabytes.
//! Checking a password against a missing user hashes a dummy, so an unknown email costs the same
//! as a wrong password.

use std::sync::Arc;

use anyhow::Context;
use rand::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// scrypt's cost: log2(N) = 14, r = 8, p = 1 (Node's defaults), 64-byte key.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 1;
const KEY_LEN: usize = 64;

/// Hashes and checks passwords. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl Passwords {
    /// One concurrent hash per core.
    pub fn new() -> anyhow::Result<Passwords> {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let dummy = hash_now("not a real password")?;
        Ok(Passwords {
            permits: Arc::new(Semaphore::new(cores)),
            dummy: dummy.into(),
        })
    }

    /// The stored form of `password`, with a fresh salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.off_runtime(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `stored`; `None` (no such user) checks against a dummy and
    /// is always false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy.to_string());
        let matches = self
            .off_runtime(move || verify_now(&password, &stored))
            .await??;
        Ok(exists && matches)
    }

    async fn off_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the hashing pool is closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing panicked")
    }
}

fn derive(password: &str, salt: &str) -> anyhow::Result<[u8; KEY_LEN]> {
    let params = scrypt::Params::new(LOG_N, R, P, KEY_LEN)
        .map_err(|_| anyhow::anyhow!("invalid scrypt parameters"))?;
    let mut key = [0_u8; KEY_LEN];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut key)
        .map_err(|_| anyhow::anyhow!("invalid scrypt output length"))?;
    Ok(key)
}

/// `<hex(scrypt(password, salt))>.<salt>`, the salt being 8 random bytes as 16 hex digits and
/// used as text, as the original does.
fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = hex::encode(rand::rng().random::<[u8; 8]>());
    Ok(format!("{}.{salt}", hex::encode(derive(password, &salt)?)))
}

/// Whether `password` hashes to `stored`; a malformed `stored` never matches.
fn verify_now(password: &str, stored: &str) -> anyhow::Result<bool> {
    let Some((expected, salt)) = stored.split_once('.') else {
        return Ok(false);
    };
    let Ok(expected) = hex::decode(expected) else {
        return Ok(false);
    };
    let actual = derive(password, salt)?;
    Ok(actual.ct_eq(expected.as_slice()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_the_originals() {
        let stored = hash_now("password").unwrap();
        let (key, salt) = stored.split_once('.').unwrap();
        assert_eq!(key.len(), 128);
        assert_eq!(salt.len(), 16);
        assert!(stored.chars().all(|c| c.is_ascii_hexdigit() || c == '.'));
    }

    #[test]
    fn verifies_only_the_right_password() {
        let stored = hash_now("password").unwrap();
        assert!(verify_now("password", &stored).unwrap());
        assert!(!verify_now("Password", &stored).unwrap());
        assert!(!verify_now("password", "garbage").unwrap());
        assert!(!verify_now("password", "zz.salt").unwrap());
    }

    #[test]
    fn accepts_a_hash_made_by_the_original_node_service() {
        // node -e "console.log(require('crypto').scryptSync('password', 'a1b2c3d4e5f60718', 64).toString('hex'))"
        let node = "33322a2ed866a9b3c2ca5411a8f734cc27ba2e10fa3b03abf13fdf5dad6dc2a5\
                    68bd090398348d3f95d637b7213cca64d6b041c84dcdda5ab8fd5b73159ee4f9";
        let stored = format!("{node}.a1b2c3d4e5f60718");
        assert!(verify_now("password", &stored).unwrap());
        assert!(!verify_now("passwore", &stored).unwrap());
    }

    #[tokio::test]
    async fn a_missing_user_never_verifies() {
        let passwords = Passwords::new().unwrap();
        let stored = passwords.hash("password".into()).await.unwrap();
        assert!(
            passwords
                .verify("password".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("not a real password".into(), None)
                .await
                .unwrap()
        );
    }
}
