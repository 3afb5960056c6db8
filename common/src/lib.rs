//! What every ticketing service shares.
//!
//! Layout:
//! - [`error`]: the one error type and its JSON envelope `{"errors":[{"message","field"?}]}`;
//! - [`json`]: the JSON body extractor/response whose rejections use that envelope;
//! - [`validation`]: ordered field checks (`{message, field}` in declaration order);
//! - [`session`]: the `session` cookie, JWTs, and the `CurrentUser` / `MaybeCurrentUser` extractors;
//! - [`revocation`]: signed-out tokens and banned users, shared through a key-value bucket;
//! - [`events`]: the six event subjects and their payloads;
//! - [`bus`]: NATS JetStream: the stream, publishing, durable listeners;
//! - [`background`]: a service's listeners and relay, stopped in an order that loses nothing;
//! - [`mongo`]: connecting, ids, and driver errors;
//! - [`outbox`]: events written in the same transaction as the change, relayed to the bus;
//! - [`replica`] and [`contention`]: copies kept by events, and changes that lost a version race;
//! - [`paging`]: lists answered a page at a time, with `Link` headers;
//! - [`config`]: reading settings from the environment;
//! - [`provision`]: the users of servers that require credentials (local stack, tests);
//! - [`rate_limit`] and [`client_address`]: keyed request limits (429) and who a request is from;
//! - [`server`]: the HTTP stack every service runs (404 fallback, body limit, request logs);
//! - [`health`]: `/healthz` and `/readyz`;
//! - [`telemetry`] and [`shutdown`]: logging set-up and the stop signal;
//! - `locks`: taking a lock whose holder panicked;
//! - `testing` (feature `testing`): the real-server test harness.

pub mod background;
mod backoff;
pub mod bus;
mod claims;
pub mod client_address;
pub mod config;
pub mod contention;
pub mod error;
pub mod events;
pub mod health;
pub mod json;
mod locks;
pub mod metrics;
pub mod mongo;
pub mod openapi;
pub mod outbox;
pub mod paging;
pub mod provision;
pub mod rate_limit;
pub mod replica;
mod retry_after;
pub mod revocation;
mod revocation_set;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod telemetry;
pub mod validation;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ApiError, FieldError};
pub use json::Json;
pub use session::{Claims, CurrentUser, MaybeCurrentUser, Sessions};
