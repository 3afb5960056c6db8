//! `/orders/:orderId`: the order waiting for payment, with "Time left to pay: N seconds"
//! (ticking with JavaScript) and the payment form; "Order Expired" once the time is up.
//!
//! The server renders the time left and the expiry (`data-expires-at`, and `data-ms-left`, which
//! the script counts down from on the browser's monotonic clock, immune to clock skew). A paid
//! order says so instead of offering to pay again.
//!
//! Without `STRIPE_PUBLISHABLE_KEY` the payment form is the test-card button
//! ([`super::pay_order`]). With it, the page holds the Payment Element's mount point and the
//! `data-` attributes `static/payment.js` reads (the key, the order, the API paths), loads
//! Stripe.js from `STRIPE_JS_URL`, and pays in the browser. After 3-D Secure, Stripe.js comes
//! back here with `?redirect_status=succeeded|failed`: the page then says the order is being
//! completed (and the script waits for it, then goes to My Orders; when the order is complete
//! already, the server sends the browser there at once), or that the card was not
//! authenticated.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use super::object_id;
use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::models::Order;
use crate::page::{self, Layout, PageError};
use crate::price;
use crate::state::{AppState, StripeCheckout};
use crate::static_files::PAYMENT_SCRIPT;

/// The alert after a 3-D Secure challenge the card holder failed or abandoned.
const NOT_AUTHENTICATED: &str = "Your payment was not authenticated. Try again.";

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
    stripe: Option<StripeCheckout>,
    /// Paid in the browser: the order is being completed, the page waits for it.
    completing: bool,
    errors: Vec<String>,
    csrf_token: CsrfToken,
}

/// The query Stripe.js adds when it brings the browser back from 3-D Secure
/// (`payment_intent` and `payment_intent_client_secret` too, which the page has no use for).
#[derive(Debug, Default, Deserialize)]
pub struct StripeReturn {
    redirect_status: Option<String>,
}

/// Where a payment in the browser stands when the page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BrowserPayment {
    /// Not paid yet (or paid with the test card, which the server completes).
    Open,
    /// Back from 3-D Secure, authenticated: the order is being completed.
    Completing,
    /// Back from 3-D Secure, not authenticated: the card holder may try again.
    NotAuthenticated,
}

impl StripeReturn {
    fn payment(&self) -> BrowserPayment {
        match self.redirect_status.as_deref() {
            Some("succeeded") => BrowserPayment::Completing,
            Some("failed") => BrowserPayment::NotAuthenticated,
            _ => BrowserPayment::Open,
        }
    }
}

/// `GET /orders/:orderId`; only its owner sees it (others get the 404 page).
pub async fn show_order(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    Path(order_id): Path<String>,
    query: Result<Query<StripeReturn>, QueryRejection>,
) -> Result<Response, PageError> {
    // Only the Payment Element leaves the page for 3-D Secure.
    let payment = match (&state.stripe, query) {
        (Some(_), Ok(Query(returned))) => returned.payment(),
        _ => BrowserPayment::Open,
    };
    order_page(
        &state,
        &forwarded,
        &order_id,
        StatusCode::OK,
        payment,
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
    payment: BrowserPayment,
    mut errors: Vec<String>,
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
    // Back from 3-D Secure to an order already complete (payment:created came first): where
    // the script would have taken the buyer once it saw it complete.
    if payment == BrowserPayment::Completing && order.status == "complete" {
        return Ok(page::see_other("/orders", Vec::new()));
    }
    if payment == BrowserPayment::NotAuthenticated {
        errors.push(NOT_AUTHENTICATED.to_owned());
    }
    let page = OrderPage::new(
        Layout::new("Your order", Some(user)),
        order,
        Utc::now(),
        state.stripe.clone(),
        payment == BrowserPayment::Completing,
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
        stripe: Option<StripeCheckout>,
        completing: bool,
        errors: Vec<String>,
        csrf_token: CsrfToken,
    ) -> OrderPage {
        let ms_left = (order.expires_at - now).num_milliseconds();
        let seconds_left = seconds_left(ms_left);
        OrderPage {
            layout,
            paid: order.status == "complete",
            // Once paid in the browser the time left no longer matters: only a cancelled order
            // is lost.
            expired: order.status == "cancelled" || (seconds_left < 0 && !completing),
            seconds_left,
            ms_left,
            expires_at: order
                .expires_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            price: price::display(order.ticket.price),
            title: order.ticket.title,
            id: order.id,
            stripe,
            completing,
            errors,
            csrf_token,
        }
    }

    /// The payment script's versioned URL.
    fn payment_script(&self) -> &'static str {
        PAYMENT_SCRIPT.url()
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
        page_of(status, expires_in_ms, false)
    }

    fn page_of(status: &str, expires_in_ms: i64, completing: bool) -> OrderPage {
        let now = Utc::now();
        OrderPage::new(
            Layout::new("Your order", crate::page::Visitor::Anonymous),
            order(status, expires_in_ms, now),
            now,
            None,
            completing,
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

    #[test]
    fn an_order_paid_in_the_browser_is_not_lost_to_the_clock() {
        assert!(!page_of("awaiting:payment", -2_000, true).expired);
        assert!(page_of("cancelled", 30_000, true).expired);
    }

    #[test]
    fn stripes_redirect_status_says_where_the_payment_stands() {
        let returned = |status: Option<&str>| StripeReturn {
            redirect_status: status.map(str::to_owned),
        };
        assert_eq!(
            returned(Some("succeeded")).payment(),
            BrowserPayment::Completing
        );
        assert_eq!(
            returned(Some("failed")).payment(),
            BrowserPayment::NotAuthenticated
        );
        assert_eq!(returned(Some("other")).payment(), BrowserPayment::Open);
        assert_eq!(returned(None).payment(), BrowserPayment::Open);
    }
}
