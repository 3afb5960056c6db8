//! `POST /v1/charges`, `GET /v1/charges/{id}`, `POST /v1/refunds`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{AppState, FormParams, idempotency_key, respond};

pub(super) async fn create_charge(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    respond(
        state
            .ledger
            .create_charge(&params, idempotency_key(&headers)),
    )
}

pub(super) async fn show_charge(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(state.ledger.show_charge(&id))
}

pub(super) async fn create_refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    respond(
        state
            .ledger
            .create_refund(&params, idempotency_key(&headers)),
    )
}
