//! What every page handler can reach.

use common::server::Shared;
use reqwest::Url;

use crate::api::Api;

/// The handlers' state: [`Parts`], behind one reference count ([`Shared`]).
pub type AppState = Shared<Parts>;

/// What the page handlers reach.
#[derive(Debug)]
pub struct Parts {
    /// The API behind the ingress.
    pub api: Api,
    /// How cards are taken when `STRIPE_PUBLISHABLE_KEY` is set; `None` is the test-card button.
    pub stripe: Option<StripeCheckout>,
}

/// Paying with Stripe's Payment Element: what the order page hands to Stripe.js.
#[derive(Debug, Clone)]
pub struct StripeCheckout {
    /// `STRIPE_PUBLISHABLE_KEY`.
    pub publishable_key: String,
    /// `STRIPE_JS_URL`: where Stripe.js is loaded from.
    pub js_url: Url,
}

impl StripeCheckout {
    /// The checkout of a client with `publishable_key` (`None`: the test-card button) loading
    /// Stripe.js from `js_url`.
    pub fn new(publishable_key: Option<String>, js_url: Url) -> Option<StripeCheckout> {
        publishable_key.map(|publishable_key| StripeCheckout {
            publishable_key,
            js_url,
        })
    }
}
