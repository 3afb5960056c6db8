//! `POST /v1/payment_intents`, `GET /v1/payment_intents/{id}`,
//! `POST /v1/payment_intents/{id}/confirm`, `POST /v1/payment_intents/{id}/cancel`.
//!
//! Reading and confirming are also open to browsers, as Stripe.js does them: without a secret
//! key but with `key=pk_...` and the intent's `client_secret` in the query or form. Those two
//! answer CORS, since the shop's page is on another origin than the fake.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, FormParams, has_secret_key, idempotency_key, respond};
use crate::ledger::{Access, Params, Reply};
use crate::objects::ApiError;

pub(super) async fn create_intent(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    respond(state.ledger.create_intent(
        &params,
        idempotency_key(&headers),
        &state.redirect_base(&headers),
    ))
}

pub(super) async fn show_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let mut params = Params(query.map(|Query(pairs)| pairs).unwrap_or_default());
    match caller(&headers, &mut params) {
        Ok(access) => respond(state.ledger.show_intent(&id, &access)),
        Err(error) => respond(Reply::error(error)),
    }
}

pub(super) async fn confirm_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormParams(mut params): FormParams,
) -> Response {
    let access = match caller(&headers, &mut params) {
        Ok(access) => access,
        Err(error) => return respond(Reply::error(error)),
    };
    respond(state.ledger.confirm_intent(
        &id,
        &params,
        idempotency_key(&headers),
        &access,
        &state.redirect_base(&headers),
    ))
}

pub(super) async fn cancel_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    respond(
        state
            .ledger
            .cancel_intent(&id, &params, idempotency_key(&headers)),
    )
}

/// Who calls: the server with its secret key, or a browser with a publishable key and a client
/// secret. Both parameters are taken out of `params`: they say who asks, not what.
fn caller(headers: &HeaderMap, params: &mut Params) -> Result<Access, ApiError> {
    let key = params.take("key");
    let client_secret = params.take("client_secret");
    if has_secret_key(headers) {
        return Ok(Access::SecretKey);
    }
    match (key, client_secret) {
        (Some(key), Some(secret)) if key.starts_with("pk_") => Ok(Access::ClientSecret(secret)),
        (Some(key), None) if key.starts_with("pk_") => Err(ApiError::missing("client_secret")),
        _ => Err(ApiError::no_api_key()),
    }
}

/// Lets any page read the answers.
pub(super) async fn allow_any_origin(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The CORS preflight: any origin, the headers it asks for.
pub(super) async fn preflight(headers: HeaderMap) -> Response {
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static("Authorization, Content-Type, Idempotency-Key, Stripe-Version")
        });
    (
        StatusCode::NO_CONTENT,
        [
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            ),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, asked),
            (
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            ),
        ],
    )
        .into_response()
}
