//! The HTTP face of the fake: Stripe's paths, form bodies and headers.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};

use crate::ledger::{Ledger, LedgerSnapshot, Params, Reply};
use crate::objects::ApiError;

/// The fake's routes over `ledger`.
pub fn router(ledger: Ledger) -> Router {
    let stripe = Router::new()
        .route("/v1/charges", post(create_charge))
        .route("/v1/charges/{id}", get(show_charge))
        .route("/v1/refunds", post(create_refund))
        .layer(middleware::from_fn(require_api_key));
    stripe
        .route("/__ledger", get(show_ledger))
        .fallback(unrecognized)
        .with_state(ledger)
}

/// Stripe answers 401 to a request without `Authorization: Bearer <key>`.
async fn require_api_key(request: Request, next: Next) -> Response {
    let has_key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty());
    if has_key {
        next.run(request).await
    } else {
        respond(error_reply(ApiError::no_api_key()))
    }
}

/// A form body, as Stripe's API takes them.
type FormBody = Result<Form<Vec<(String, String)>>, FormRejection>;

async fn create_charge(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
    form: FormBody,
) -> Response {
    match params(form) {
        Ok(params) => respond(ledger.create_charge(&params, idempotency_key(&headers))),
        Err(reply) => respond(reply),
    }
}

async fn create_refund(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
    form: FormBody,
) -> Response {
    match params(form) {
        Ok(params) => respond(ledger.create_refund(&params, idempotency_key(&headers))),
        Err(reply) => respond(reply),
    }
}

/// The parameters of a form body; a body that is not one is an invalid request.
fn params(form: FormBody) -> Result<Params, Reply> {
    form.map(|Form(pairs)| Params(pairs)).map_err(|_| {
        error_reply(ApiError::invalid(
            "Invalid request body: expected application/x-www-form-urlencoded parameters.",
            None,
            None,
        ))
    })
}

async fn show_charge(State(ledger): State<Ledger>, Path(id): Path<String>) -> Response {
    respond(ledger.show_charge(&id))
}

async fn show_ledger(State(ledger): State<Ledger>) -> Json<LedgerSnapshot> {
    Json(ledger.snapshot())
}

async fn unrecognized(request: Request) -> Response {
    respond(error_reply(ApiError::unrecognized(
        request.method().as_str(),
        request.uri().path(),
    )))
}

fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.is_empty())
}

fn error_reply(error: ApiError) -> Reply {
    Reply {
        status: error.status,
        body: error.body(),
        replayed: false,
    }
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(reply.body)).into_response();
    if reply.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
