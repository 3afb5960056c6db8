//! The endpoints: `POST /api/payments` (a card token), `POST /api/payments/intents` and
//! `POST /api/payments/webhook` (a PaymentIntent and what Stripe says of it), and the rate
//! limits of the attempts.

mod create;
mod intents;
pub mod limits;
mod webhook;

use axum::Router;
use common::ApiError;
use common::openapi::Documented;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::checkout::PayError;
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

/// What a payment that could not be made answers (the token path's and the intents').
impl From<PayError> for ApiError {
    fn from(error: PayError) -> ApiError {
        match error {
            PayError::NotFound => ApiError::NotFound,
            PayError::NotAuthorized => ApiError::NotAuthorized,
            PayError::Cancelled => ApiError::bad_request("Cannot pay for an cancelled order"),
            PayError::AlreadyPaid => ApiError::bad_request("Order has already been paid"),
            PayError::Expired => ApiError::bad_request("Order has expired"),
            PayError::Declined(message) => ApiError::BadRequest(message),
            PayError::Refused => ApiError::malformed(),
            PayError::Stripe(error) => ApiError::Internal(error),
            PayError::Database(error) => error.into(),
        }
    }
}
