//! `Retry-After`: how long a refused client is told to wait, in the header's whole seconds.
//!
//! Apart from [`crate::rate_limit`], which measures the wait, and [`crate::error`], which
//! writes the header, so that each can use it without the other.

use std::time::Duration;

/// `Retry-After` for a wait of `wait`: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(999)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(
            retry_after_seconds(Duration::from_nanos(59_000_000_001)),
            60
        );
        assert_eq!(retry_after_seconds(Duration::from_secs(60)), 60);
    }
}
