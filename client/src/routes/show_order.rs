//! `/orders/:orderId`: the order waiting for payment, with "Time left to pay: N seconds"
//! (ticking with JavaScript) and the payment form; "Order Expired" once the time is up.
//!
//! The server renders the time left and the expiry (`data-expires-at`, and `data-ms-left`, which
//! the script counts down from on the browser's monotonic clock, immune to clock skew). A paid
//! order says so instead of offering to pay again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};

use super::object_id;
use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::models::Order;
use crate::page::{self, Layout, PageError};
use crate::price;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    layout: Layout,
    id: String,
    title: String,
    price: String,
    paid: bool,
    expired: bool,
    seconds_left: i64,
    ms_left: i64,
    expires_at: String,
    stripe_key: Option<String>,
    errors: Vec<String>,
    csrf_token: CsrfToken,
}

/// `GET /orders/:orderId`; only its owner sees it (others get the 404 page).
pub async fn show_order(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    Path(order_id): Path<String>,
) -> Result<Response, PageError> {
    order_page(
        &state,
        &forwarded,
        &order_id,
        StatusCode::OK,
        Vec::new(),
        csrf_token,
    )
    .await
}

/// The order page with `errors` in its alert.
pub(super) async fn order_page(
    state: &AppState,
    forwarded: &Forwarded,
    order_id: &str,
    status: StatusCode,
    errors: Vec<String>,
    csrf_token: CsrfToken,
) -> Result<Response, PageError> {
    let path = format!("/api/orders/{}", object_id(order_id)?);
    let (user, order) = tokio::join!(
        state.api.current_user(forwarded),
        state.api.get::<Order>(forwarded, &path),
    );
    let user = user?.ok_or(PageError::SignInRequired)?;
    let order = match order {
        Ok(answer) => answer.body,
        // Signed in, but someone else's order: as good as missing.
        Err(ApiFailure::Rejected(rejection)) if rejection.status == StatusCode::UNAUTHORIZED => {
            return Err(PageError::NotFound);
        }
        Err(failure) => return Err(failure.into()),
    };
    let page = OrderPage::new(
        Layout::new("Your order", Some(user)),
        order,
        Utc::now(),
        state.stripe_publishable_key.clone(),
        errors,
        csrf_token,
    );
    Ok(page::render(status, &page))
}

impl OrderPage {
    fn new(
        layout: Layout,
        order: Order,
        now: DateTime<Utc>,
        stripe_key: Option<String>,
        errors: Vec<String>,
        csrf_token: CsrfToken,
    ) -> OrderPage {
        let ms_left = (order.expires_at - now).num_milliseconds();
        let seconds_left = seconds_left(ms_left);
        OrderPage {
            layout,
            paid: order.status == "complete",
            expired: order.status == "cancelled" || seconds_left < 0,
            seconds_left,
            ms_left,
            expires_at: order
                .expires_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            price: price::display(order.ticket.price),
            title: order.ticket.title,
            id: order.id,
            stripe_key,
            errors,
            csrf_token,
        }
    }
}

/// Whole seconds left, rounded as the original's `Math.round((expiresAt - now) / 1000)`.
fn seconds_left(ms_left: i64) -> i64 {
    (ms_left as f64 / 1000.0 + 0.5).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::OrderTicket;

    fn order(status: &str, expires_in_ms: i64, now: DateTime<Utc>) -> Order {
        Order {
            id: "6561f0c2a4b3c2d1e0f9a8b7".into(),
            status: status.into(),
            expires_at: now + chrono::Duration::milliseconds(expires_in_ms),
            ticket: OrderTicket {
                id: "6561f0c2a4b3c2d1e0f9a8b8".into(),
                title: "Concert".into(),
                price: 12.5,
            },
        }
    }

    fn page(status: &str, expires_in_ms: i64) -> OrderPage {
        let now = Utc::now();
        OrderPage::new(
            Layout::new("Your order", crate::page::Visitor::Anonymous),
            order(status, expires_in_ms, now),
            now,
            None,
            Vec::new(),
            CsrfToken::generate(),
        )
    }

    #[test]
    fn time_left_is_rounded_like_math_round() {
        assert_eq!(seconds_left(59_500), 60);
        assert_eq!(seconds_left(59_499), 59);
        assert_eq!(seconds_left(0), 0);
        assert_eq!(seconds_left(-500), 0);
        assert_eq!(seconds_left(-501), -1);
    }

    #[test]
    fn an_order_is_payable_until_its_time_is_up_and_never_once_paid_or_cancelled() {
        let open = page("created", 30_000);
        assert!(!open.expired && !open.paid);
        assert_eq!(open.seconds_left, 30);
        assert_eq!(open.price, "12.50");
        assert!(page("created", -2_000).expired);
        assert!(page("cancelled", 30_000).expired);
        assert!(page("complete", -2_000).paid);
    }
}
