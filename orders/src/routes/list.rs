//! `GET /api/orders`: the user's orders, one page at a time.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use common::paging::{Page, PageQuery};
use common::{ApiError, CurrentUser, Json};

use crate::models::Order;
use crate::state::AppState;

/// 200 with a page (at most 100) of the signed-in user's orders, whatever their status, newest
/// first, each with its ticket embedded, and a `Link` header to the pages either side (see
/// [`common::paging`]); 400 with a field error for a bad `limit`, `after` or `before`.
#[utoipa::path(get, path = "/api/orders", tag = "orders",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of the user's orders, newest first, tickets embedded",
            body = Vec<Order>,
            headers(("Link" = String, description = "RFC 8288 links to the next and previous pages, when there are any"))),
    ))]
pub async fn list_orders(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<(HeaderMap, Json<Vec<Order>>), ApiError> {
    let Query(query) = query.map_err(|_| ApiError::malformed())?;
    let page = Page::parse(&query)?;
    let listed = state.orders.list_for_user(&user.id, &page).await?;
    let mut headers = HeaderMap::new();
    if let Some(links) = listed.link_header("/api/orders", &page, "", |order| order.order.id) {
        headers.insert(header::LINK, links);
    }
    Ok((
        headers,
        Json(listed.items.iter().map(Order::from).collect()),
    ))
}
