//! The middleware around a service's routes.
//!
//! A request's handler runs, once its body is in, to its end in a task of its own: a client
//! that hangs up (a browser navigating away, a load generator stopping, a proxy timing out)
//! drops its connection and the answer, never the work half-way. No database operation or
//! transaction is cut in the middle, which would leave the driver a connection to throw away
//! and the server a transaction to abort, and which after a burst of abandoned requests stalled
//! a service for seconds. The handler learns of the hang-up through its [`Client`].

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use futures_util::FutureExt as _;
use tracing::Instrument as _;

use super::body::{BODY_LIMIT_BYTES, read_body_first};
use super::client::Client;
use super::requests;
use crate::error::{ApiError, not_found};
use crate::health::{self, Readiness};
use crate::telemetry::{self, propagation};

/// Wraps a service's routes (state already applied) with the shared stack.
pub fn app(routes: Router, readiness: Readiness) -> Router {
    app_with_instant(routes, Router::new(), readiness)
}

/// [`app`], with `instant` routes beside `routes`: handlers that do no I/O at all (no database,
/// no bus, no other service), such as answering from the session cookie. Such a handler ends in
/// the poll that starts it, so no hang-up can cut it half-way, and it runs in the connection's
/// task instead of one of its own, which for a request this cheap is a large share of its cost
/// (`GET /api/users/currentuser`, the platform's most frequent request). A panic is still
/// answered 500 in the envelope.
pub fn app_with_instant(routes: Router, instant: Router, readiness: Readiness) -> Router {
    let instant = if instant.has_routes() {
        instant.route_layer(middleware::from_fn(run_inline))
    } else {
        instant
    };
    let routes = routes
        .merge(health::routes(readiness))
        .route_layer(middleware::from_fn(run_to_completion))
        .merge(instant)
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(read_body_first));
    with_request_logs(routes)
}

/// Runs a request to its end in a task of its own (see the module's documentation), telling
/// its [`Client`] when the connection goes. A handler that panics is answered 500 in the
/// envelope. The request is counted ([`requests`]) when its handler ends, whether or not its
/// client still waits.
async fn run_to_completion(mut request: Request, next: Next) -> axum::response::Response {
    let counted = requests::Counted::start(&request);
    let client = Client::default();
    request.extensions_mut().insert(client.clone());
    // Dropped with this future when the connection goes, before the handler's task has ended.
    let hang_up = client.hang_up_guard();
    let handled = async move {
        let response = answer_or_500(next.run(request)).await;
        counted.answered(&response);
        response
    };
    let response = match tokio::spawn(handled.in_current_span()).await {
        Ok(response) => response,
        Err(error) => handler_failed(error),
    };
    hang_up.disarm();
    response
}

/// Runs an instant route's handler where it is (see [`app_with_instant`]), and counts it; a
/// panic is a 500.
async fn run_inline(request: Request, next: Next) -> axum::response::Response {
    let counted = requests::Counted::start_instant(&request);
    let response = answer_or_500(next.run(request)).await;
    counted.answered(&response);
    response
}

/// `handler`'s answer, or a 500 in the envelope if it panics.
async fn answer_or_500(
    handler: impl Future<Output = axum::response::Response>,
) -> axum::response::Response {
    match std::panic::AssertUnwindSafe(handler).catch_unwind().await {
        Ok(response) => response,
        Err(_) => handler_failed("it panicked"),
    }
}

/// The 500 in the envelope for a handler that did not return (it panicked, or its task was
/// cancelled): `what` goes to the log only.
fn handler_failed(what: impl std::fmt::Display) -> axum::response::Response {
    ApiError::Internal(anyhow::anyhow!("request handler failed: {what}")).into_response()
}

/// `app`, answering 503 in the envelope for a request not answered within `limit`. The
/// request's work is not cut: its handler runs on in its own task to its end, as when a client
/// hangs up, so its effects stay all or nothing.
pub(super) fn with_request_timeout(app: Router, limit: Duration) -> Router {
    app.layer(middleware::from_fn_with_state(limit, answer_within))
}

/// The request's answer, or 503 in the envelope once `limit` has passed without one.
async fn answer_within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(anyhow::anyhow!(
            "{method} {path} was not answered within {limit:?}"
        ))
        .into_response(),
    }
}

/// Logs one line per request, with its method, path, status and latency: never the query
/// string, headers or cookies, which may hold secrets. The request's span continues the trace of
/// its `traceparent` header, or starts one ([`crate::telemetry`]); it is built only where a layer
/// reads it, for traces or the JSON lines' ids, since the line carries its fields itself.
pub fn with_request_logs(routes: Router) -> Router {
    routes.layer(middleware::from_fn(log_request))
}

/// Runs `request` in its span, then logs its line ([`with_request_logs`]).
async fn log_request(request: Request, next: Next) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    let span = tracing::info_span!(telemetry::REQUEST_SPAN, %method, %path);
    let traceparent = request.headers().get(propagation::TRACEPARENT);
    propagation::continue_trace(&span, traceparent.and_then(|value| value.to_str().ok()));
    let response = next.run(request).instrument(span.clone()).await;
    let _in_span = span.enter();
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request handled"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::test_stack::{TOO_LARGE, answer, get, hang_up_once_started};
    use axum::body::{Body, to_bytes};
    use axum::routing::get as route_get;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn a_request_over_its_time_is_503_and_its_work_still_ends() {
        let (finished, finished_rx) = tokio::sync::oneshot::channel::<()>();
        let finished = Arc::new(Mutex::new(Some(finished)));
        let handler = move || {
            let finished = finished.lock().unwrap().take();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = finished.map(|finished| finished.send(()));
                "done"
            }
        };
        let routes = Router::new()
            .route("/slow", route_get(handler))
            .route("/quick", route_get(|| async { "quick" }));
        let stack = with_request_timeout(app(routes, Readiness::new()), Duration::from_millis(50));
        let call = |path: &str| stack.clone().oneshot(get(path));
        let response = call("/slow").await.unwrap();
        assert_eq!(response.status(), 503);
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(
            body,
            r#"{"errors":[{"message":"Service unavailable, please try again"}]}"#
        );
        tokio::time::timeout(Duration::from_secs(5), finished_rx)
            .await
            .expect("the handler was cut off at the timeout")
            .unwrap();
        assert_eq!(call("/quick").await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn a_request_whose_client_hangs_up_still_runs_to_its_end() {
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (finished, finished_rx) = tokio::sync::oneshot::channel::<()>();
        let started = Arc::new(Mutex::new(Some(started)));
        let finished = Arc::new(Mutex::new(Some(finished)));
        let handler = move || {
            let started = started.lock().unwrap().take();
            let finished = finished.lock().unwrap().take();
            async move {
                let _ = started.map(|started| started.send(()));
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = finished.map(|finished| finished.send(()));
                "done"
            }
        };
        hang_up_once_started(
            Router::new().route("/slow", route_get(handler)),
            "/slow",
            started_rx,
        )
        .await;
        tokio::time::timeout(Duration::from_secs(5), finished_rx)
            .await
            .expect("the handler was cut off with its client")
            .unwrap();
    }

    #[tokio::test]
    async fn a_request_is_counted_by_status_when_it_panics_or_its_client_hangs_up() {
        use crate::testing::events::eventually;
        use crate::testing::scraped;
        // Other tests of this binary call these routes too: the counts only grow.
        for route in ["/panics", "/instant/panics"] {
            let labels = [&format!(r#"route="{route}""#) as &str, r#"status="500""#];
            let before = scraped("http_requests_total", &labels).await;
            assert_eq!(answer(get(route)).await.0, 500);
            assert!(
                scraped("http_requests_total", &labels).await > before,
                "{route}"
            );
        }

        // This route is this test's own.
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let started = Arc::new(Mutex::new(Some(started)));
        let handler = move || {
            let started = started.lock().unwrap().take();
            async move {
                let _ = started.map(|started| started.send(()));
                tokio::time::sleep(Duration::from_millis(100)).await;
                "done"
            }
        };
        let route = r#"route="/counted-after-hang-up""#;
        hang_up_once_started(
            Router::new().route("/counted-after-hang-up", route_get(handler)),
            "/counted-after-hang-up",
            started_rx,
        )
        .await;
        assert_eq!(scraped("http_requests_in_flight", &[route]).await, 1.0);
        eventually("the request is counted once its handler ends", || async {
            scraped("http_requests_total", &[route, r#"status="200""#]).await == 1.0
        })
        .await;
        assert_eq!(scraped("http_requests_in_flight", &[route]).await, 0.0);
    }

    #[tokio::test]
    async fn a_request_is_in_flight_while_its_handler_runs_unless_its_route_is_instant() {
        // The recorder, before the first request takes its handles.
        crate::metrics::handle();
        assert_eq!(answer(get("/in-flight")).await, (200, "1".to_owned()));
        assert_eq!(
            answer(get("/instant/in-flight")).await,
            (200, "0".to_owned())
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_envelope_instant_or_not() {
        for path in ["/panics", "/instant/panics"] {
            assert_eq!(
                answer(get(path)).await,
                (
                    500,
                    r#"{"errors":[{"message":"Something went wrong"}]}"#.to_owned()
                ),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn instant_routes_run_in_the_callers_task_the_others_in_their_own() {
        let outcome = tokio::spawn(async {
            let caller = format!("{:?}", tokio::task::try_id());
            let instant = answer(get("/instant/task")).await;
            let other = answer(get("/task")).await;
            (caller, instant, other)
        });
        let (caller, instant, other) = outcome.await.unwrap();
        assert!(caller.starts_with("Some("), "{caller}");
        assert_eq!(instant, (200, caller.clone()));
        assert_eq!(other.0, 200);
        assert!(
            other.1.starts_with("Some(") && other.1 != caller,
            "{other:?}"
        );
    }

    #[tokio::test]
    async fn instant_routes_have_the_body_limit_and_the_404s() {
        let oversized = axum::http::Request::post("/instant/task")
            .body(Body::from(vec![b'x'; BODY_LIMIT_BYTES + 1]))
            .unwrap();
        assert_eq!(answer(oversized).await, (413, TOO_LARGE.to_owned()));
        let wrong_method = axum::http::Request::delete("/instant/task")
            .body(Body::empty())
            .unwrap();
        assert_eq!(answer(wrong_method).await.0, 404);
    }
}
