//! The HTTP face of the fake: Stripe's paths, form bodies and headers, the browser's side of
//! payment intents (the 3-D Secure page and the stand-in Stripe.js), and the test hooks.
//!
//! Layout: `charges` (charges and refunds), `intents` (payment intents, by secret key or by
//! client secret), `three_d_secure` (the authentication page), `stripe_js` (the stand-in
//! script), `test_hooks` (`/__ledger`, `/__events`).

mod charges;
mod intents;
mod stripe_js;
mod test_hooks;
mod three_d_secure;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};

use crate::ledger::{Ledger, Params, Reply};
use crate::objects::ApiError;
use crate::webhooks::Webhooks;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) ledger: Ledger,
    pub(crate) webhooks: Webhooks,
    /// Where browsers reach the fake, if not at the `Host` they called it by (a server
    /// behind another name, e.g. in a container network, confirms for a browser outside).
    pub(crate) public_url: Option<String>,
    /// Where the fake listens.
    pub(crate) base_url: String,
}

impl AppState {
    /// The origin a browser reaches the fake at, for the 3-D Secure page's URL.
    fn redirect_base(&self, headers: &HeaderMap) -> String {
        if let Some(public_url) = &self.public_url {
            return public_url.trim_end_matches('/').to_owned();
        }
        headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map_or_else(|| self.base_url.clone(), |host| format!("http://{host}"))
    }
}

/// The fake's routes.
pub(crate) fn router(state: AppState) -> Router {
    let secret_key_only = Router::new()
        .route("/v1/charges", post(charges::create_charge))
        .route("/v1/charges/{id}", get(charges::show_charge))
        .route("/v1/refunds", post(charges::create_refund))
        .route("/v1/payment_intents", post(intents::create_intent))
        .route(
            "/v1/payment_intents/{id}/cancel",
            post(intents::cancel_intent),
        )
        .layer(middleware::from_fn(require_api_key));
    let browsers_too = Router::new()
        .route(
            "/v1/payment_intents/{id}",
            get(intents::show_intent).options(intents::preflight),
        )
        .route(
            "/v1/payment_intents/{id}/confirm",
            post(intents::confirm_intent).options(intents::preflight),
        )
        .layer(middleware::from_fn(intents::allow_any_origin));
    secret_key_only
        .merge(browsers_too)
        .route(
            "/__3ds/{id}",
            get(three_d_secure::show_challenge).post(three_d_secure::answer_challenge),
        )
        .route("/v3/", get(stripe_js::serve_stripe_js))
        .route("/v3/stripe.js", get(stripe_js::serve_stripe_js))
        .route("/__ledger", get(test_hooks::show_ledger))
        .route("/__events", get(test_hooks::list_events))
        .route("/__events/{id}/deliver", post(test_hooks::deliver_event))
        .route("/__webhooks/pause", post(test_hooks::pause_webhooks))
        .route("/__webhooks/resume", post(test_hooks::resume_webhooks))
        .fallback(unrecognized)
        .with_state(state)
}

/// Whether the request carries `Authorization: Bearer <key>`, as the server's requests do.
fn has_secret_key(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty())
}

/// Stripe answers 401 to a request without `Authorization: Bearer <key>`.
async fn require_api_key(request: Request, next: Next) -> Response {
    if has_secret_key(request.headers()) {
        next.run(request).await
    } else {
        respond(Reply::error(ApiError::no_api_key()))
    }
}

/// The form parameters of a request, as Stripe's API takes them: a form body, or no body at
/// all for none. Anything else is an invalid request.
pub(crate) struct FormParams(pub(crate) Params);

impl<S: Send + Sync> FromRequest<S> for FormParams {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let invalid = || {
            respond(Reply::error(ApiError::invalid(
                "Invalid request body: expected application/x-www-form-urlencoded parameters.",
                None,
                None,
            )))
        };
        if !request.headers().contains_key(header::CONTENT_TYPE) {
            let body = Bytes::from_request(request, state)
                .await
                .map_err(|_| invalid())?;
            return if body.is_empty() {
                Ok(FormParams(Params::default()))
            } else {
                Err(invalid())
            };
        }
        Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map(|Form(pairs)| FormParams(Params(pairs)))
            .map_err(|_| invalid())
    }
}

async fn unrecognized(request: Request) -> Response {
    respond(Reply::error(ApiError::unrecognized(
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
