//! The stack the server's unit tests call: a few routes in [`super::app_with_instant`].

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::MatchedPath;
use axum::routing::{get as route_get, post};
use tower::ServiceExt as _;

use crate::health::Readiness;

/// The envelope of a 413.
pub(super) const TOO_LARGE: &str = r#"{"errors":[{"message":"Request body is too large"}]}"#;

/// A route that ignores its body and one that reads it, one that panics, one that says its task
/// and one that says how many of its requests are in flight; the last three also as instant
/// routes.
fn stack() -> Router {
    let routes = Router::new()
        .route("/ignores", route_get(|| async { "ignored" }))
        .route(
            "/reads",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/panics", route_get(panics))
        .route("/task", route_get(task_id))
        .route("/in-flight", route_get(in_flight));
    let instant = Router::new()
        .route("/instant/panics", route_get(panics))
        .route("/instant/task", route_get(task_id))
        .route("/instant/in-flight", route_get(in_flight));
    super::app_with_instant(routes, instant, Readiness::new())
}

/// The id of the task the handler runs in.
async fn task_id() -> String {
    format!("{:?}", tokio::task::try_id())
}

/// The requests to the handler's route in flight, as a scrape sees them while it runs.
async fn in_flight(route: MatchedPath) -> String {
    let route = format!(r#"route="{}""#, route.as_str());
    crate::testing::scraped("http_requests_in_flight", &[&route])
        .await
        .to_string()
}

async fn panics() -> &'static str {
    panic!("a handler bug")
}

/// `GET path` with no body.
pub(super) fn get(path: &str) -> axum::http::Request<Body> {
    axum::http::Request::get(path).body(Body::empty()).unwrap()
}

/// The status and body [`stack`] answers `request` with.
pub(super) async fn answer(request: axum::http::Request<Body>) -> (u16, String) {
    let response = stack().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Sends `GET path` to `routes` in the shared stack and hangs up once the handler says it has
/// `started`: the connection task, and the request future with it, is dropped.
pub(super) async fn hang_up_once_started(
    routes: Router,
    path: &str,
    started: tokio::sync::oneshot::Receiver<()>,
) {
    let call = tokio::spawn(super::app(routes, Readiness::new()).oneshot(get(path)));
    started.await.unwrap();
    call.abort();
}
