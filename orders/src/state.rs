//! What every handler can reach.

use axum::extract::FromRef;
use common::session::Sessions;

use crate::models::Orders;

/// The handlers' state; the session extractors take [`Sessions`] from it through [`FromRef`].
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The orders collection (with the ticket replica and the outbox).
    pub orders: Orders,
    /// Reads session cookies.
    pub sessions: Sessions,
}
