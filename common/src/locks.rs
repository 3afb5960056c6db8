//! Taking a lock whose holder panicked: the data it guards is still used. The guarded values
//! here (registries of metrics, records handed to the relay, log lines) stay whole whatever
//! panicked, and a request must not fail because an earlier one did.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// `mutex`, locked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
