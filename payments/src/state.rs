//! What every handler can reach.

use axum::extract::FromRef;
use common::config::Secret;
use common::session::Sessions;

use crate::checkout::Checkout;
use crate::routes::limits::PaymentLimits;

/// The handlers' state; the session extractors take [`Sessions`] from it through [`FromRef`].
#[derive(Clone, FromRef)]
pub struct AppState {
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
