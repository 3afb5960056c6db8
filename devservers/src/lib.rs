//! The backing servers of the platform, run as child processes, and the ingress's route table.
//!
//! Both the test harness (`common::testing`) and the local stack (`cargo xtask up`) need a
//! MongoDB-compatible server, NATS with JetStream and Redis. This crate is the one place that
//! knows how to find those programs, start them on a free port, tell when they are ready, and
//! stop them again. It depends on nothing but `std` and `libc`, so `xtask` stays light.
//!
//! The local stack and the chaos fleet also route requests to the services as the ingress does;
//! both depend on this crate, so the route table lives here ([`routes`]).
//!
//! Layout:
//! - [`locate`]: finding a server program on `PATH` and the usual install places;
//! - [`process`]: a started server ([`ServerProcess`]), its output, and stopping it;
//! - [`mongo`], [`nats`], [`redis`]: how each server is started and when it counts as ready,
//!   open or requiring credentials;
//! - [`secrets`]: random passwords, and files only their owner may read;
//! - [`routes`]: which service answers which path, for every ingress.

pub mod locate;
pub mod mongo;
pub mod nats;
pub mod process;
pub mod redis;
pub mod routes;
pub mod secrets;

pub use locate::{MongoServer, find_mongo, find_program};
pub use process::{LineSink, ServerProcess, StartError};

/// How a server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Throw-away data for tests: no persistence where the server allows it.
    Ephemeral,
    /// Keep data across restarts (the local stack): Redis appends to its log, NATS syncs its store.
    Persistent,
}

/// Asks the kernel for a free TCP port on the loopback interface.
///
/// The port is released before it is returned, so another process could take it in between;
/// callers that start a server on it retry with a fresh port when the bind fails.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// `count` free TCP ports on the loopback interface, all different.
///
/// Each is held until all are chosen: the kernel may hand out a port it just released again,
/// so `count` calls of [`free_port`] can return one port twice.
pub fn free_ports(count: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_all_different() {
        let mut ports = free_ports(200).unwrap();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 200);
    }
}
