//! `GET /api/orders/:orderId`: one of the user's orders.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use common::error::ErrorEnvelope;
use common::{ApiError, CurrentUser, Json};

use crate::models::Order;
use crate::routes::{ensure_owner, order_id};
use crate::state::AppState;

/// 200 with the order and its ticket; 404 when there is none; 401 when another user placed
/// it; 400 `"Something went wrong"` for a malformed id.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "The order's id: 24 hex digits")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The order, its ticket embedded", body = Order),
        (status = 401, description = "No valid session, or the order is someone else's", body = ErrorEnvelope),
        (status = 404, description = "No such order", body = ErrorEnvelope),
    ))]
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
