//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use common::client_address::ClientAddressSettings;
use common::revocation::RevocationBucket;
use common::session::Sessions;

use crate::limits::AuthLimits;
use crate::models::user::Users;
use crate::password::Passwords;

/// The handlers' state; extractors take its parts (the sessions, where the client's address is
/// read from) through [`FromRef`].
#[derive(Clone, FromRef)]
pub struct AppState {
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
