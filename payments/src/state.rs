//! What every handler can reach.

use common::config::Secret;
use common::server::Shared;
use common::session::Sessions;

use crate::checkout::Checkout;
use crate::routes::limits::PaymentLimits;

/// The handlers' state: [`Parts`], behind one reference count ([`Shared`]).
pub type AppState = Shared<Parts>;

/// What the handlers reach; the session extractors take [`Sessions`] from it ([`AsRef`]).
pub struct Parts {
    /// Pays for orders.
    pub checkout: Checkout,
    /// Reads session cookies.
    pub sessions: Sessions,
    /// Limits payment attempts per order and per user.
    pub limits: PaymentLimits,
    /// `STRIPE_WEBHOOK_SECRET`: Stripe's webhooks are verified with it; without it, intents
    /// and webhooks are off.
    pub webhook_secret: Option<Secret>,
}

impl AsRef<Sessions> for Parts {
    fn as_ref(&self) -> &Sessions {
        &self.sessions
    }
}
