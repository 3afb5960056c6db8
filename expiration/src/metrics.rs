//! The expiration service's own metric: `expiration_lateness_seconds`, a histogram of how late
//! each order's `expiration:complete` went out, the moment JetStream acknowledged it minus the
//! order's `expiresAt` (never negative: the worker waits until `expiresAt`). Recorded by the
//! worker ([`crate::jobs::worker`]) once per job that published the event, not again when a job
//! run twice finds the stream already holding it. It stays under the worker's polling interval
//! while Redis and NATS answer; an outage shows as its tail.
//!
//! The process's recorder and the bus families are `common`'s ([`common::metrics`]).

use std::time::Duration;

/// An order's expiry went out `lateness` after its `expiresAt`.
pub fn expiration_published(lateness: Duration) {
    ::metrics::histogram!("expiration_lateness_seconds").record(lateness.as_secs_f64());
}
