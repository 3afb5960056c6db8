//! `DELETE /api/orders/:orderId`: the user cancels an order.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::error::ErrorEnvelope;
use common::{ApiError, CurrentUser};

use crate::models::StatusChange;
use crate::routes::{ensure_owner, order_id};
use crate::state::AppState;

/// 204 with no body: the order is cancelled and its ticket released (or it already was, and
/// nothing is published again). 404 when there is no such order, 401 when another user placed
/// it, 400 `"Cannot cancel a completed order"` when it is paid (docs/decisions.md #8).
#[utoipa::path(delete, path = "/api/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "The order's id: 24 hex digits")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Cancelled (now or before), its ticket free again"),
        (status = 400, description = "A malformed id, or the order is paid", body = ErrorEnvelope),
        (status = 401, description = "No valid session, or the order is someone else's", body = ErrorEnvelope),
        (status = 404, description = "No such order", body = ErrorEnvelope),
    ))]
pub async fn cancel_order(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = order_id(path)?;
    let order = state.orders.find(id).await?.ok_or(ApiError::NotFound)?;
    ensure_owner(&order, &user.id)?;
    match state.orders.cancel(id).await? {
        StatusChange::Changed(_) => {
            crate::metrics::order_cancelled();
            Ok(StatusCode::NO_CONTENT)
        }
        StatusChange::Unchanged(_) => Ok(StatusCode::NO_CONTENT),
        StatusChange::Refused(_) => Err(ApiError::bad_request("Cannot cancel a completed order")),
        StatusChange::NotFound => Err(ApiError::NotFound),
    }
}
