//! `GET /api/orders`: the user's orders.

use axum::extract::State;
use common::{ApiError, CurrentUser, Json};

use crate::models::Order;
use crate::startup::AppState;

/// 200 with every order of the signed-in user, whatever its status, oldest first, each with its
/// ticket embedded.
pub async fn list_orders(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<Order>>, ApiError> {
    let orders = state.orders.list_for_user(&user.id).await?;
    Ok(Json(orders.iter().map(Order::from).collect()))
}
