//! `/orders`: the signed-in user's orders, one line each: "{title} - {status}".

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::api::Forwarded;
use crate::models::Order;
use crate::page::{self, Layout, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    layout: Layout,
    orders: Vec<Order>,
}

/// `GET /orders`; signed-out visitors are sent to the sign-in page.
pub async fn list_orders(
    State(state): State<AppState>,
    forwarded: Forwarded,
) -> Result<Response, PageError> {
    let (user, orders) = tokio::join!(
        state.api.current_user(&forwarded),
        state.api.get::<Vec<Order>>(&forwarded, "/api/orders"),
    );
    let user = user?.ok_or(PageError::SignInRequired)?;
    Ok(page::ok(&OrdersPage {
        layout: Layout::new("My Orders", Some(user)),
        orders: orders?.body,
    }))
}
