//! Not Stripe's: what tests look at and do. `GET /__ledger` (the books), `GET /__events` (every
//! event and how its delivery went), `POST /__events/{id}/deliver` (send one again now, as
//! Stripe's dashboard "Resend" does, and answer what the endpoint answered), and
//! `POST /__webhooks/pause` and `/resume` (events wait, then go, as when the endpoint was
//! unreachable for a while).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{AppState, respond};
use crate::entries::EventEntry;
use crate::ledger::{LedgerSnapshot, Reply};
use crate::objects::ApiError;
use crate::webhooks::DeliveryError;

pub(super) async fn show_ledger(State(state): State<AppState>) -> Json<LedgerSnapshot> {
    Json(state.ledger.snapshot())
}

pub(super) async fn list_events(State(state): State<AppState>) -> Json<Vec<EventEntry>> {
    Json(state.ledger.events())
}

/// 204: events wait until [`resume_webhooks`].
pub(super) async fn pause_webhooks(State(state): State<AppState>) -> StatusCode {
    state.webhooks.pause();
    StatusCode::NO_CONTENT
}

/// 204: the events that waited are delivered, and the next ones.
pub(super) async fn resume_webhooks(State(state): State<AppState>) -> StatusCode {
    state.webhooks.resume();
    StatusCode::NO_CONTENT
}

/// `{"id","status"}`: the endpoint's answer. 404 for an unknown event, 409 without an endpoint,
/// 502 when the endpoint did not answer.
pub(super) async fn deliver_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let reply = match state.webhooks.deliver(&id).await {
        Ok(status) => Reply {
            status: 200,
            body: json!({ "id": id, "status": status }),
            replayed: false,
        },
        Err(DeliveryError::UnknownEvent) => Reply::error(ApiError::no_such("event", &id, "id")),
        Err(error) => {
            let mut reply = Reply::error(ApiError::invalid(&error.to_string(), None, None));
            reply.status = match error {
                DeliveryError::NoWebhookTarget => 409,
                _ => 502,
            };
            reply
        }
    };
    respond(reply)
}
