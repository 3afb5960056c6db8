//! The benchmark suite `cargo xtask bench` runs against a local stack of release binaries.
//!
//! xtask builds the services and this crate, starts a fresh stack for each part of the run, and
//! runs the `ticketing-bench` binary with the stack's addresses and process ids in the
//! environment ([`target::Stack`]). The parts ([`report::parts`]):
//!
//! - `ticketing-bench stack` measures HTTP throughput and latency with wrk (direct and through the
//!   ingress), the ceilings beside them (a bare axum handler, scrypt), event propagation and each
//!   service's idle footprint;
//! - `ticketing-bench catalogue` a page of the catalogue at 100 and at 100,000 tickets;
//! - `ticketing-bench purchases` the purchase pipeline, then `POST /api/orders`, and the
//!   services' memory under that load;
//! - `ticketing-bench expiration` how late orders are cancelled, on a stack with a short
//!   expiration window;
//! - `ticketing-bench report` joins the parts into `bench/results/<date>.json` and `<date>.md`,
//!   beside the other tree's parts when the run was side by side (`--against`).
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
