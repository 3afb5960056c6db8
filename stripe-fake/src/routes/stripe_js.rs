//! `GET /v3/` and `GET /v3/stripe.js`: the stand-in Stripe.js (`assets/stripe.js`), where the
//! shop's page loads `https://js.stripe.com/v3/` from in production.

use axum::http::header;
use axum::response::IntoResponse;

/// The script, with no framework and nothing to build.
const STRIPE_JS: &str = include_str!("../../assets/stripe.js");

pub(super) async fn serve_stripe_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/javascript"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STRIPE_JS,
    )
}
