//! Building the client: its state, its router (pages, assets, health, the HTML 404) and the
//! HTTP stack around it (request logs, body limit, security headers).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Response, header};
use common::health::{self, Readiness};
use common::server::{BODY_LIMIT_BYTES, Server, Shared};
use reqwest::Url;

use crate::api::Api;
use crate::config::Config;
use crate::state::{AppState, Parts, StripeCheckout};

/// Binds the client's port; `run_until_stopped` serves it.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let state = Shared::new(Parts {
        api: Api::new(config.api_base_url.clone(), config.max_answer_bytes)?,
        stripe: StripeCheckout::new(
            config.stripe_publishable_key.clone(),
            config.stripe_js_url.clone(),
        ),
    });
    Ok(Server::bind(&config.listen, app(state)).await?)
}

/// The whole application: pages, assets and health checks, with the HTTP stack.
pub fn app(state: AppState) -> Router {
    let stripe_js = state.stripe.as_ref().map(|stripe| &stripe.js_url);
    let content_security_policy = content_security_policy(stripe_js);
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

/// The Content-Security-Policy without Stripe: our own origin only.
const SELF_ONLY_POLICY: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Stripe.js's origin as Stripe serves it; its frames and API are on origins of their own.
const STRIPE_JS_ORIGIN: &str = "https://js.stripe.com";
/// Where Stripe.js opens its frames (the Payment Element, 3-D Secure).
const STRIPE_FRAME_ORIGINS: &str = "https://js.stripe.com https://hooks.stripe.com";
/// Where Stripe.js calls Stripe's API.
const STRIPE_API_ORIGIN: &str = "https://api.stripe.com";

/// The page's Content-Security-Policy: our own origin only, plus what Stripe.js loaded from
/// `stripe_js` needs when it takes cards. Stripe's own script needs Stripe's frames and API; a
/// stand-in (the local stack's fake Stripe) serves all three from its script's origin.
pub fn content_security_policy(stripe_js: Option<&Url>) -> HeaderValue {
    let Some(stripe_js) = stripe_js else {
        return HeaderValue::from_static(SELF_ONLY_POLICY);
    };
    let origin = stripe_js.origin().ascii_serialization();
    let (frames, api) = if origin == STRIPE_JS_ORIGIN {
        (STRIPE_FRAME_ORIGINS, STRIPE_API_ORIGIN)
    } else {
        (origin.as_str(), origin.as_str())
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' {origin}; frame-src {frames}; \
         connect-src 'self' {api}; img-src 'self' data:; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    // An origin is serialized in visible ASCII, so this always converts; were it ever not to,
    // the page would still be safe, only unable to load Stripe.js.
    HeaderValue::try_from(policy).unwrap_or_else(|_| HeaderValue::from_static(SELF_ONLY_POLICY))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(stripe_js: Option<&str>) -> String {
        let url = stripe_js.map(|url| Url::parse(url).unwrap());
        let policy = content_security_policy(url.as_ref());
        policy.to_str().unwrap().to_owned()
    }

    #[test]
    fn without_stripe_the_policy_is_our_own_origin_only() {
        assert_eq!(
            policy(None),
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        );
    }

    #[test]
    fn stripes_own_script_brings_stripes_frames_and_api() {
        let expected = "default-src 'self'; script-src 'self' https://js.stripe.com; \
             frame-src https://js.stripe.com https://hooks.stripe.com; \
             connect-src 'self' https://api.stripe.com; img-src 'self' data:; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'";
        assert_eq!(policy(Some("https://js.stripe.com/v3/")), expected);
        assert_eq!(policy(Some("https://js.stripe.com/v3")), expected);
    }

    #[test]
    fn a_stand_in_script_takes_stripes_place_everywhere() {
        let policy = policy(Some("http://127.0.0.1:12111/v3/"));
        assert_eq!(
            policy,
            "default-src 'self'; script-src 'self' http://127.0.0.1:12111; \
             frame-src http://127.0.0.1:12111; connect-src 'self' http://127.0.0.1:12111; \
             img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        assert!(!policy.contains("stripe.com"));
    }
}
