//! The endpoints: `POST /api/payments` (a card token), `POST /api/payments/intents` and
//! `POST /api/payments/webhook` (a PaymentIntent and what Stripe says of it), and the rate
//! limits of the attempts.

mod create;
mod intents;
pub mod limits;
mod webhook;

use axum::Router;
use common::openapi::Documented;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use create::create_payment;
pub use intents::create_intent;
pub use webhook::receive_webhook;

/// What the payments service's OpenAPI document says of it, and where it is served.
pub const DOCUMENTED: Documented = Documented {
    service: "payments",
    version: env!("CARGO_PKG_VERSION"),
    description: "Paying for an order: with a card token, or with a PaymentIntent confirmed in the browser and settled by Stripe's signed webhook.",
    path: "/api/payments/docs/openapi.json",
};

/// The payments routes, each with its description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_payment))
        .routes(routes!(intents::create_intent))
        .routes(routes!(webhook::receive_webhook))
}

/// The payments routes, and their OpenAPI document at [`DOCUMENTED`]'s path.
pub fn router() -> Router<AppState> {
    DOCUMENTED.router(api())
}

/// The OpenAPI document the service serves (checked in as `docs/openapi/payments.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENTED.document(api())
}
