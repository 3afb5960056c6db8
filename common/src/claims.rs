//! What a session token says about its user: read by [`crate::session`], which issues and
//! verifies tokens, and by [`crate::revocation`], which refuses some of them.

use serde::{Deserialize, Serialize};

/// What a session token says about its user; `GET /api/users/currentuser` echoes it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claims {
    /// The user's id (24 hex digits).
    pub id: String,
    /// The user's email.
    pub email: String,
    /// Issued at, in seconds since the epoch.
    pub iat: u64,
    /// Expires at, in seconds since the epoch.
    pub exp: u64,
    /// The token's own id (24 hex digits), by which it is revoked.
    pub jti: String,
}
