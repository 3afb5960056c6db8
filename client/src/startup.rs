//! Building the client: its state, its router (pages, assets, health, the HTML 404) and the
//! HTTP stack around it (request logs, body limit, security headers).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Response, header};
use common::health::{self, Readiness};
use common::server::{BODY_LIMIT_BYTES, Server};

use crate::api::Api;
use crate::config::Config;
use crate::state::AppState;

/// Binds the client's port; `run_until_stopped` serves it.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let state = AppState {
        api: Api::new(config.api_base_url.clone(), config.max_answer_bytes)?,
        stripe_publishable_key: config.stripe_publishable_key.clone(),
    };
    Ok(Server::bind(&config.listen, app(state)).await?)
}

/// The whole application: pages, assets and health checks, with the HTTP stack.
pub fn app(state: AppState) -> Router {
    let content_security_policy = content_security_policy(state.stripe_publishable_key.is_some());
    let routes = crate::routes::router()
        .with_state(state)
        // Nothing to check: the client keeps no connection; an API outage shows as an error page.
        .merge(health::routes(Readiness::new()))
        .fallback(crate::page::not_found)
        .method_not_allowed_fallback(crate::page::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::map_response(
            move |response: Response<axum::body::Body>| {
                let policy = content_security_policy.clone();
                async move { with_security_headers(response, policy) }
            },
        ));
    common::server::with_request_logs(routes)
}

/// The page's Content-Security-Policy: our own origin only, plus Stripe's when it takes cards.
pub fn content_security_policy(stripe: bool) -> HeaderValue {
    let policy = if stripe {
        "default-src 'self'; script-src 'self' https://js.stripe.com; \
         frame-src https://js.stripe.com https://hooks.stripe.com; \
         connect-src 'self' https://api.stripe.com; img-src 'self' data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    };
    HeaderValue::from_static(policy)
}

/// Adds the headers every answer carries; pages (not assets) are never cached, being per user.
fn with_security_headers(
    mut response: Response<axum::body::Body>,
    policy: HeaderValue,
) -> Response<axum::body::Body> {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
