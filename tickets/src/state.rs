//! What every handler can reach.

use common::server::Shared;
use common::session::Sessions;

use crate::models::Tickets;

/// The handlers' state: [`Parts`], behind one reference count ([`Shared`]).
pub type AppState = Shared<Parts>;

/// What the handlers reach; the session extractors take [`Sessions`] from it ([`AsRef`]).
pub struct Parts {
    /// The tickets collection (and its outbox).
    pub tickets: Tickets,
    /// Reads session cookies.
    pub sessions: Sessions,
}

impl AsRef<Sessions> for Parts {
    fn as_ref(&self) -> &Sessions {
        &self.sessions
    }
}
