//! What every page handler can reach.

use crate::api::Api;

/// The handlers' state.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The API behind the ingress.
    pub api: Api,
    /// `STRIPE_PUBLISHABLE_KEY`, when cards are taken by Stripe.js.
    pub stripe_publishable_key: Option<String>,
}
