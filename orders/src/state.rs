//! What every handler can reach.

use common::server::Shared;
use common::session::Sessions;

use crate::models::Orders;

/// The handlers' state: [`Parts`], behind one reference count ([`Shared`]).
pub type AppState = Shared<Parts>;

/// What the handlers reach; the session extractors take [`Sessions`] from it ([`AsRef`]).
pub struct Parts {
    /// The orders collection (with the ticket replica and the outbox).
    pub orders: Orders,
    /// Reads session cookies.
    pub sessions: Sessions,
}

impl AsRef<Sessions> for Parts {
    fn as_ref(&self) -> &Sessions {
        &self.sessions
    }
}
