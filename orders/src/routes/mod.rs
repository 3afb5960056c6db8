//! The four `/api/orders` endpoints.

mod cancel;
mod create;
mod list;
mod show;

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use common::ApiError;
use common::mongo::parse_object_id;
use common::openapi::Documented;
use mongodb::bson::oid::ObjectId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::models::OrderDocument;
use crate::state::AppState;

pub use cancel::cancel_order;
pub use create::create_order;
pub use list::list_orders;
pub use show::show_order;

/// What the orders service's OpenAPI document says of it, and where it is served.
pub const DOCUMENTED: Documented = Documented {
    service: "orders",
    version: env!("CARGO_PKG_VERSION"),
    description: "A user's orders: place one to reserve a ticket for 15 minutes, list, show and \
                  cancel them.",
    path: "/api/orders/docs/openapi.json",
};

/// The orders routes, each with its description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_orders, create::create_order))
        .routes(routes!(show::show_order, cancel::cancel_order))
}

/// The orders routes, and their OpenAPI document at [`DOCUMENTED`]'s path.
pub fn router() -> Router<AppState> {
    DOCUMENTED.router(api())
}

/// The OpenAPI document the service serves (checked in as `docs/openapi/orders.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENTED.document(api())
}

/// The `:orderId` of the path; a malformed one is 400 `"Something went wrong"`.
fn order_id(path: Result<Path<String>, PathRejection>) -> Result<ObjectId, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::malformed())?;
    parse_object_id(&id)
}

/// 401 unless `user_id` placed `order`.
fn ensure_owner(order: &OrderDocument, user_id: &str) -> Result<(), ApiError> {
    if order.user_id == user_id {
        Ok(())
    } else {
        Err(ApiError::NotAuthorized)
    }
}
