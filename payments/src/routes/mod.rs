//! The one endpoint: `POST /api/payments`, and the rate limits of its attempts.

mod create;
pub mod limits;

use axum::Router;
use common::openapi::Documented;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use create::create_payment;

/// What the payments service's OpenAPI document says of it, and where it is served.
pub const DOCUMENTED: Documented = Documented {
    service: "payments",
    version: env!("CARGO_PKG_VERSION"),
    description: "Paying for an order with a card token.",
    path: "/api/payments/docs/openapi.json",
};

/// The payments routes, each with its description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create::create_payment))
}

/// The payments routes, and their OpenAPI document at [`DOCUMENTED`]'s path.
pub fn router() -> Router<AppState> {
    DOCUMENTED.router(api())
}

/// The OpenAPI document the service serves (checked in as `docs/openapi/payments.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENTED.document(api())
}
