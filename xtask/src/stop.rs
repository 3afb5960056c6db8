//! Ctrl-C and SIGTERM, turned into a request the main thread polls.
//!
//! The servers must be stopped from the thread that started them (devservers ties each child's
//! life to that thread), and in order, so a signal only sets a flag; `up` checks it between steps
//! and while it watches the running platform.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Context as _;

/// A shared "please stop" flag, set by SIGINT, SIGTERM or SIGHUP once installed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    /// A flag that the process's termination signals set. Call it once, before starting anything.
    pub(crate) fn on_signals() -> anyhow::Result<Stop> {
        let stop = Stop::default();
        let handler = stop.clone();
        ctrlc::set_handler(move || handler.request())
            .context("could not install the Ctrl-C/SIGTERM handler")?;
        Ok(stop)
    }

    /// Asks everyone watching this flag to stop.
    pub(crate) fn request(&self) {
        let (requested, changed) = &*self.0;
        if let Ok(mut requested) = requested.lock() {
            *requested = true;
        }
        changed.notify_all();
    }

    /// Whether a stop was requested.
    pub(crate) fn requested(&self) -> bool {
        self.0.0.lock().map(|requested| *requested).unwrap_or(true)
    }

    /// Sleeps up to `timeout`, waking early when a stop is requested; returns whether one was.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let (requested, changed) = &*self.0;
        let Ok(guard) = requested.lock() else {
            return true;
        };
        changed
            .wait_timeout_while(guard, timeout, |requested| !*requested)
            .map(|(requested, _)| *requested)
            .unwrap_or(true)
    }

    /// Fails with [`Interrupted`] when a stop was requested, so start-up can unwind with `?`.
    pub(crate) fn check(&self) -> Result<(), Interrupted> {
        if self.requested() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }
}

/// Start-up was cut short by Ctrl-C or SIGTERM: not a failure, the user asked for it.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn wait_times_out_without_a_request_and_returns_early_with_one() {
        let stop = Stop::default();
        assert!(!stop.wait(Duration::from_millis(10)));
        assert!(stop.check().is_ok());

        let requester = stop.clone();
        let started = Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            requester.request();
        });
        assert!(stop.wait(Duration::from_secs(10)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.requested());
        assert!(stop.check().is_err());
    }
}
