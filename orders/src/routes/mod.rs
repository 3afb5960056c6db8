//! The four `/api/orders` endpoints.

mod cancel;
mod create;
mod list;
mod show;

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::routing::get;
use common::ApiError;
use common::mongo::parse_object_id;
use mongodb::bson::oid::ObjectId;

use crate::models::OrderDocument;
use crate::state::AppState;

pub use cancel::cancel_order;
pub use create::create_order;
pub use list::list_orders;
pub use show::show_order;

/// The orders routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders", get(list_orders).post(create_order))
        .route("/api/orders/{id}", get(show_order).delete(cancel_order))
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
