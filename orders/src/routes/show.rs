//! `GET /api/orders/:orderId`: one of the user's orders.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use common::{ApiError, CurrentUser, Json};

use crate::models::Order;
use crate::routes::{ensure_owner, order_id};
use crate::state::AppState;

/// 200 with the order and its ticket; 404 when there is none; 401 when another user placed
/// it; 400 `"Something went wrong"` for a malformed id.
pub async fn show_order(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let id = order_id(path)?;
    let order = state
        .orders
        .find_with_ticket(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    ensure_owner(&order.order, &user.id)?;
    Ok(Json(Order::from(&order)))
}
