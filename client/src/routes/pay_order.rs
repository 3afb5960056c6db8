//! `POST /orders/:orderId/pay`: pays with the posted card token (`tok_visa` from the test-card
//! button, offered without `STRIPE_PUBLISHABLE_KEY`) and goes to My Orders; a refusal is shown
//! on the order page. With a key the browser pays with the Payment Element instead
//! ([`super::show_order`]), never posting here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::object_id;
use super::show_order::{BrowserPayment, order_page};
use crate::api::{ApiFailure, Forwarded};
use crate::csrf::CsrfToken;
use crate::form::PageForm;
use crate::models::Created;
use crate::page::{self, PageError};
use crate::state::AppState;

/// The posted form.
#[derive(Debug, Deserialize)]
pub struct PaymentFields {
    #[serde(default)]
    token: String,
}

/// What `POST /api/payments` gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPayment<'a> {
    order_id: &'a str,
    token: &'a str,
}

/// `303 /orders` once paid, `303 /auth/signin` when signed out, or the order page with the
/// API's messages.
pub async fn pay_order(
    State(state): State<AppState>,
    forwarded: Forwarded,
    csrf_token: CsrfToken,
    Path(order_id): Path<String>,
    PageForm(fields): PageForm<PaymentFields>,
) -> Result<Response, PageError> {
    let order_id = object_id(&order_id)?;
    let payment = NewPayment {
        order_id,
        token: &fields.token,
    };
    let paid = state
        .api
        .post::<Created>(&forwarded, "/api/payments", &payment)
        .await;
    match paid {
        Ok(_) => Ok(page::see_other("/orders", Vec::new())),
        Err(ApiFailure::Rejected(rejection)) if rejection.status != StatusCode::UNAUTHORIZED => {
            order_page(
                &state,
                &forwarded,
                order_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                BrowserPayment::Open,
                rejection.messages,
                csrf_token,
            )
            .await
        }
        Err(failure) => Err(failure.into()),
    }
}
