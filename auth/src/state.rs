//! What every handler can reach.

use std::sync::Arc;

use common::client_address::ClientAddressSettings;
use common::revocation::RevocationBucket;
use common::server::Shared;
use common::session::Sessions;

use crate::limits::AuthLimits;
use crate::models::user::Users;
use crate::password::Passwords;

/// The handlers' state: [`Parts`], behind one reference count ([`Shared`]).
pub type AppState = Shared<Parts>;

/// What the handlers reach; the extractors take the sessions and where the client's address is
/// read from ([`AsRef`]).
pub struct Parts {
    /// The users collection.
    pub users: Users,
    /// Issues and reads session cookies.
    pub sessions: Sessions,
    /// Hashes and checks passwords off the async runtime.
    pub passwords: Passwords,
    /// Sign-in and sign-up rate limits.
    pub limits: AuthLimits,
    /// Where the client's address is read from.
    pub client_addresses: ClientAddressSettings,
    /// Where signed-out tokens and bans are written, for every service.
    pub revocations: RevocationBucket,
    /// The emails of the users who may ban (`ADMIN_EMAILS`).
    pub admins: Arc<[String]>,
}

impl AsRef<Sessions> for Parts {
    fn as_ref(&self) -> &Sessions {
        &self.sessions
    }
}

impl AsRef<ClientAddressSettings> for Parts {
    fn as_ref(&self) -> &ClientAddressSettings {
        &self.client_addresses
    }
}
