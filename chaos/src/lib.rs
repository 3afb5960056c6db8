//! Fault injection against a real local fleet (issue: reliability under faults).
//!
//! - [`fleet`]: every service as real, killable processes on fixed ports, NATS of its own;
//! - [`api`]: calling the fleet as a browser would, riding over dead replicas;
//! - [`invariants`]: what must hold across the databases, the bus and Stripe once quiet;
//! - [`soak`]: many users at random while replicas die and NATS restarts;
//! - [`hostile`]: seeded bad input: bodies, ids and forged session cookies.
//!
//! The tests in `tests/` use these: `soak` (sized by `CHAOS_USERS` / `CHAOS_SECONDS`, a short
//! run by default and the full one under `cargo xtask chaos`), `races`, `delivery`, `input`
//! (hostile bodies, ids and cookies; the authorization matrix) and `shutdown`.

pub mod api;
pub mod fleet;
pub mod hostile;
pub mod invariants;
pub mod soak;

pub use api::{Api, Failure, Reply};
pub use fleet::{ADMIN_EMAIL, Fleet, FleetOptions, Member};
pub use invariants::{Snapshot, settle};
