//! What every handler can reach.

use axum::extract::FromRef;
use common::session::Sessions;

use crate::models::Tickets;

/// The handlers' state; the session extractors take [`Sessions`] from it through [`FromRef`].
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The tickets collection (and its outbox).
    pub tickets: Tickets,
    /// Reads session cookies.
    pub sessions: Sessions,
}
