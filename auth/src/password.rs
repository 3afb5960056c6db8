//! Password hashing: scrypt in the original's `<hex(key)>.<salt>` format, off the async runtime.
//!
//! scrypt (N=16384, r=8, p=1) costs about 16 MiB and tens of milliseconds per hash, so it runs on
//! a pool of its own, one thread per core, never on a runtime worker: a burst of sign-ins queues
//! there instead of stalling other requests. The same few threads do every hash, so the
//! allocator keeps one 16 MiB buffer per thread rather than one per thread that ever hashed
//! (the blocking pool's threads come and go). The threads keep the normal priority: at a lower
//! one, a storm's sign-ins starve behind any busy neighbour.
//!
//! Checking a password against a missing user hashes a dummy, so an unknown email costs the same
//! as a wrong password.

use std::sync::Arc;

use anyhow::Context;
use rand::Rng;
use subtle::ConstantTimeEq;

/// scrypt's cost: log2(N) = 14, r = 8, p = 1 (Node's defaults), 64-byte key.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 1;
const KEY_LEN: usize = 64;

/// Hashes and checks passwords. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    pool: Arc<rayon::ThreadPool>,
    dummy: Arc<str>,
}

impl Passwords {
    /// A hashing thread per core.
    pub fn new() -> anyhow::Result<Passwords> {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|index| format!("scrypt-{index}"))
            // A panicking hash drops its answer: that sign-in fails, the pool goes on.
            .panic_handler(|_| tracing::error!("password hashing panicked"))
            .build()
            .context("could not start the password-hashing threads")?;
        let dummy = hash_now("not a real password")?;
        Ok(Passwords {
            pool: Arc::new(pool),
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

    /// Runs `work` on the hashing pool, first come first served, and waits for its result.
    /// Dropping the future before `work` starts takes it out of the queue.
    async fn off_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            // Dropped while it queued (its client hung up): nobody waits, so no hash.
            if answer.is_closed() {
                return;
            }
            let _ = answer.send(work());
        });
        answered.await.context("password hashing panicked")
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
    async fn hashes_run_on_the_pools_threads() {
        let passwords = Passwords::new().unwrap();
        let name = passwords
            .off_runtime(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("scrypt-"));
    }

    #[tokio::test]
    async fn at_most_one_hash_per_core_runs_at_once_and_all_finish() {
        let passwords = Passwords::new().unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs = (0..cores * 4).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            passwords.off_runtime(move || {
                use std::sync::atomic::Ordering::SeqCst;
                most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, SeqCst);
            })
        });
        let finished = futures::future::join_all(jobs).await;
        assert!(finished.iter().all(Result::is_ok));
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= cores);
    }

    #[tokio::test]
    async fn a_hash_dropped_while_it_queued_is_never_done() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
        let passwords = Passwords::new().unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        // Every hashing thread busy until released.
        let barrier = Arc::new(std::sync::Barrier::new(cores + 1));
        let busy = Arc::new(AtomicUsize::new(0));
        let blockers: Vec<_> = (0..cores)
            .map(|_| {
                let (passwords, barrier, busy) = (passwords.clone(), barrier.clone(), busy.clone());
                tokio::spawn(async move {
                    passwords
                        .off_runtime(move || {
                            busy.fetch_add(1, SeqCst);
                            barrier.wait();
                        })
                        .await
                })
            })
            .collect();
        while busy.load(SeqCst) < cores {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // Queued behind them, then given up on.
        let hashed = Arc::new(AtomicBool::new(false));
        let flag = hashed.clone();
        let queued = passwords.off_runtime(move || flag.store(true, SeqCst));
        assert!(futures::FutureExt::now_or_never(queued).is_none());
        barrier.wait();
        for blocker in blockers {
            blocker.await.unwrap().unwrap();
        }
        // The pool has let go of the job once it was taken off the queue.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while Arc::strong_count(&hashed) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(Arc::strong_count(&hashed), 1, "the job is still queued");
        assert!(!hashed.load(SeqCst), "a hash nobody waited for was done");
    }

    #[tokio::test]
    async fn a_panicking_hash_fails_its_caller_and_the_pool_goes_on() {
        let passwords = Passwords::new().unwrap();
        let failed = passwords.off_runtime(|| -> u8 { panic!("boom") }).await;
        assert!(failed.is_err());
        assert_eq!(passwords.off_runtime(|| 7).await.unwrap(), 7);
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
