//! The HTTP server every service runs: the shared middleware stack around its routes, and the
//! process around that stack.
//!
//! Every service gets the same answers for what its routes do not decide: a 404 in the envelope
//! for an unknown path or method, 413 for a body over [`BODY_LIMIT_BYTES`] on any route, 503 for
//! a request not answered in time, 500 in the envelope for a handler that panicked, one log line
//! per request, `/healthz` and `/readyz`, trailing slashes ignored, and a graceful shutdown.
//!
//! Layout (everything is used through the names re-exported here):
//! - `stack`: [`app`] and [`app_with_instant`], the middleware around a service's routes: each
//!   request runs to its end even when its client hangs up; request logs; the request timeout;
//! - `body`: every body read before routing, and refused past [`BODY_LIMIT_BYTES`];
//! - `client`: the [`Client`] extractor, telling a handler whether anyone still waits for it;
//! - `requests`: the HTTP metrics of each routed request;
//! - `state`: [`Shared`], a service's handler state behind one reference count;
//! - `lifecycle`: [`Server`], a built service bound to its port with its background work, and
//!   [`run_service`], a service's whole program.

mod body;
mod client;
mod lifecycle;
mod requests;
mod stack;
mod state;

#[cfg(test)]
mod test_stack;

pub use body::BODY_LIMIT_BYTES;
pub use client::Client;
pub use lifecycle::{Server, run_service, serve};
pub use stack::{app, app_with_instant, with_request_logs};
pub use state::Shared;
