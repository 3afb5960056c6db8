//! The benchmark suite `cargo xtask bench` runs against a local stack of release binaries.
//!
//! xtask builds the services and this crate, starts the stack, and runs the `ticketing-bench`
//! binary with the stack's addresses and process ids in the environment ([`target::Stack`]):
//!
//! - `ticketing-bench stack` measures HTTP throughput and latency with wrk (direct and through the
//!   ingress), the ceilings beside them (a bare axum handler, scrypt), event propagation, the
//!   purchase pipeline and each service's footprint;
//! - `ticketing-bench expiration` measures how late orders are cancelled, on a stack with a short
//!   expiration window;
//! - `ticketing-bench report` joins both into `bench/results/<date>.json` and `<date>.md`.
//!
//! Layout:
//! - [`target`]: where the stack under test listens, from the environment;
//! - [`api`]: the platform's HTTP API, as the scenarios call it;
//! - [`wrk`]: wrk scripts and their JSON output; [`stats`]: percentiles;
//! - [`procfs`]: RSS, CPU time and the command line of a process; [`cpu`]: who used the CPU
//!   over a stretch of a run; [`machine`]: what runs the bench;
//! - [`scenarios`]: one module per measurement; [`report`]: the results, targets and summary.

pub mod api;
pub mod cpu;
#[cfg(test)]
mod fixtures;
pub mod machine;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod stats;
pub mod target;
pub mod wrk;
