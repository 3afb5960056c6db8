//! The HTTP stack every service runs: 404 fallback in the envelope, a body size limit, one log
//! line per request, `/healthz` and `/readyz`, trailing slashes ignored, graceful shutdown.
//!
//! The body limit holds for the whole service, as the original's global body parser did: every
//! body is read before routing, and one over the limit is answered 413 whatever the route
//! (whether or not it reads bodies, and before it asks for a session), never kept past the limit.
//!
//! [`Server`] is a built service: its router bound to its port, with the background work
//! (listeners, relay, workers) that is stopped after the last request has been answered.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, BodyDataStream};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Response, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use bytes::BytesMut;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::trace::TraceLayer;
use tracing::{Instrument as _, Span};

use crate::background::Background;
use crate::error::{ApiError, not_found};
use crate::health::{self, Readiness};

/// The largest request body accepted (413 above it). Every body here is a small JSON object.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Wraps a service's routes (state already applied) with the shared stack.
pub fn app(routes: Router, readiness: Readiness) -> Router {
    app_with_instant(routes, Router::new(), readiness)
}

/// [`app`], with `instant` routes beside `routes`: handlers that do no I/O at all (no database,
/// no bus, no other service), such as answering from the session cookie. Such a handler ends in
/// the poll that starts it, so no hang-up can cut it half-way, and it runs in the connection's
/// task instead of one of its own: for `GET /api/users/currentuser`, the platform's most frequent
/// request, that task was about a tenth of its cost. A panic is still answered 500 in the
/// envelope.
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

/// Runs a request, once its body is in, to its end in a task of its own. A client that hangs up
/// (a browser navigating away, a load generator stopping, a proxy timing out) drops its
/// connection and the answer, never the work half-way: no database operation or transaction is
/// cut in the middle, which would leave the driver a connection to throw away and the server a
/// transaction to abort, and which after a burst of abandoned requests stalled a service for
/// seconds. The handler learns of the hang-up through its [`Client`], to skip work that only
/// its answer needed. A handler that panics is answered 500 in the envelope.
async fn run_to_completion(mut request: Request, next: Next) -> axum::response::Response {
    let client = Client::default();
    request.extensions_mut().insert(client.clone());
    // Dropped with this future when the connection goes, before the handler's task has ended.
    let hang_up = client.gone.clone().drop_guard();
    let response = match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(error) => handler_failed(error),
    };
    hang_up.disarm();
    response
}

/// `app`, answering 503 in the envelope for a request not answered within `limit`.
fn with_request_timeout(app: Router, limit: Duration) -> Router {
    app.layer(middleware::from_fn_with_state(limit, answer_within))
}

/// The request's answer, or 503 in the envelope once `limit` has passed without one.
async fn answer_within(
    axum::extract::State(limit): axum::extract::State<Duration>,
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

/// The 500 in the envelope for a handler that did not return (it panicked, or its task was
/// cancelled): `what` goes to the log only.
fn handler_failed(what: impl std::fmt::Display) -> axum::response::Response {
    ApiError::Internal(anyhow::anyhow!("request handler failed: {what}")).into_response()
}

/// Runs an instant route's handler where it is (see [`app_with_instant`]); a panic is a 500.
async fn run_inline(request: Request, next: Next) -> axum::response::Response {
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => handler_failed("it panicked"),
    }
}

/// The client of a request: whether it still waits for the answer. An extractor.
///
/// A request runs to its end even when its client hangs up (see [`app`]); a handler asks this
/// before work whose only purpose is the answer, and skips it. Sign-up and sign-in do, before
/// their scrypt hash: under a burst, clients that gave up would otherwise keep the hashing
/// threads busy with work nobody waits for while their retries queue behind it, and the queue
/// would only grow. Outside [`app`] (a handler called directly) the client never hangs up.
#[derive(Debug, Clone, Default)]
pub struct Client {
    gone: tokio_util::sync::CancellationToken,
}

impl Client {
    /// Whether the client has hung up.
    pub fn has_hung_up(&self) -> bool {
        self.gone.is_cancelled()
    }

    /// `work`'s output, or [`ApiError::ClientGone`] as soon as the client hangs up, `work`
    /// then being dropped where it stands. Only for work that changes nothing, or that can be
    /// dropped at any await point without harm.
    pub async fn unless_hung_up<T>(&self, work: impl Future<Output = T>) -> Result<T, ApiError> {
        tokio::select! {
            biased;
            () = self.gone.cancelled() => Err(ApiError::ClientGone),
            output = work => Ok(output),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Client>()
            .cloned()
            .unwrap_or_default())
    }
}

/// How much of a refused body is read and thrown away before the 413 goes out, and for how long
/// at most. A server that answers and closes while the client is still sending makes the
/// client's kernel drop the answer on the reset that follows; taking in a bounded amount first
/// (a lingering close) lets ordinary clients read their 413. Beyond this, the connection closes.
const DISCARD_AT_MOST_BYTES: usize = 1024 * 1024;
const DISCARD_AT_MOST_FOR: Duration = Duration::from_secs(2);

/// Reads every request's body before routing, as the original's global body parser did: 413 in
/// the envelope when it is over [`BODY_LIMIT_BYTES`] (declared or streamed; never kept past the
/// limit), 400 `"Something went wrong"` when it breaks off. A route that ignores its body thus
/// leaves no unread bytes behind, which would make hyper close the connection under a client
/// still sending and lose the answer.
async fn read_body_first(request: Request, next: Next) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let limit = u64::try_from(BODY_LIMIT_BYTES).unwrap_or(u64::MAX);
    let mut chunks = body.into_data_stream();
    if declared.is_some_and(|length| length > limit) {
        discard(chunks).await;
        return ApiError::PayloadTooLarge.into_response();
    }
    let mut bytes = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return ApiError::malformed().into_response();
        };
        if bytes.len() + chunk.len() > BODY_LIMIT_BYTES {
            discard(chunks).await;
            return ApiError::PayloadTooLarge.into_response();
        }
        bytes.extend_from_slice(&chunk);
    }
    next.run(Request::from_parts(parts, Body::from(bytes.freeze())))
        .await
}

/// Reads and drops up to [`DISCARD_AT_MOST_BYTES`] more of a body, for [`DISCARD_AT_MOST_FOR`]
/// at most.
async fn discard(mut chunks: BodyDataStream) {
    let mut discarded = 0;
    let _ = tokio::time::timeout(DISCARD_AT_MOST_FOR, async {
        while let Some(Ok(chunk)) = chunks.next().await {
            discarded += chunk.len();
            if discarded > DISCARD_AT_MOST_BYTES {
                break;
            }
        }
    })
    .await;
}

/// Logs one line per request: method, path, status and latency. Never the query string, headers
/// or cookies: they may hold secrets.
pub fn with_request_logs(routes: Router) -> Router {
    routes.layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request| {
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            })
            .on_request(())
            .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
                tracing::info!(
                    status = response.status().as_u16(),
                    latency_ms = latency.as_secs_f64() * 1000.0,
                    "request handled"
                );
            }),
    )
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish.
///
/// Express's routing is non-strict, so `/api/users/signup/` is `/api/users/signup`: trailing
/// slashes are trimmed before routing.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = NormalizePathLayer::trim_trailing_slash().layer(app);
    // With each request's TCP peer, for `client_address::ClientAddress`.
    let service = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<
        std::net::SocketAddr,
    >(app);
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A service's whole program: telemetry, its settings from the environment, then the service
/// `build` makes, served on a multi-threaded runtime until SIGTERM or Ctrl-C.
///
/// Each service library calls this from a non-generic `pub fn main`, which its binary calls, so
/// that the service's async code is compiled once, in the library. With `#[tokio::main]` in the
/// binary, a release build compiled it a second time there, as the binary was the first to poll
/// it (no generics are shared between crates at opt-level 3): tickets' library and binary took
/// 26 s + 40 s, and take 44 s + 0.5 s this way.
pub fn run_service<C, Built>(
    from_env: impl FnOnce() -> Result<C, crate::config::ConfigError>,
    build: impl FnOnce(C) -> Built,
) -> anyhow::Result<()>
where
    Built: Future<Output = anyhow::Result<Server>>,
{
    crate::telemetry::init();
    let config = from_env()?;
    tokio::runtime::Runtime::new()?.block_on(async {
        build(config).await?.run_until_stopped().await?;
        Ok(())
    })
}

/// A service bound to its port, its background work running: what `build(config)` of every
/// service returns.
pub struct Server {
    listener: TcpListener,
    app: Router,
    background: Background,
}

impl Server {
    /// Binds `listen`'s host and port (port 0 picks a free one) for `app`, answering 503 in
    /// the envelope for a request not answered within `listen.request_timeout`. Such a
    /// request's work is not cut: its handler runs on in its own task to its end, as when a
    /// client hangs up (see [`app`]), so its effects stay all or nothing.
    pub async fn bind(listen: &crate::config::Listen, app: Router) -> std::io::Result<Server> {
        let app = with_request_timeout(app, listen.request_timeout);
        let listener = TcpListener::bind((listen.host.as_str(), listen.port)).await?;
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "listening");
        }
        Ok(Server {
            listener,
            app,
            background: Background::new(),
        })
    }

    /// Hands over the background work, to be stopped once the server has drained.
    pub fn with_background(mut self, background: Background) -> Server {
        self.background = background;
        self
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_default()
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and stops the
    /// background work.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(crate::shutdown::signal()).await
    }

    /// Serves until `shutdown` completes, finishes in-flight requests, then stops the background
    /// work in the order that loses nothing (see [`Background::stop`]).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = serve(self.listener, self.app, shutdown).await;
        self.background.stop().await;
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Bytes, to_bytes};
    use axum::routing::{get, post};
    use tower::ServiceExt as _;

    /// A route that ignores its body and one that reads it.
    fn stack() -> Router {
        let routes = Router::new()
            .route("/ignores", get(|| async { "ignored" }))
            .route(
                "/reads",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route("/panics", get(panics))
            .route("/task", get(task_id));
        let instant = Router::new()
            .route("/instant/panics", get(panics))
            .route("/instant/task", get(task_id));
        app_with_instant(routes, instant, Readiness::new())
    }

    /// The id of the task the handler runs in.
    async fn task_id() -> String {
        format!("{:?}", tokio::task::try_id())
    }

    async fn panics() -> &'static str {
        panic!("a handler bug")
    }

    /// Sends `GET path` to `routes` in the shared stack and hangs up once the handler says it
    /// has `started`: the connection task, and the request future with it, is dropped.
    async fn hang_up_once_started(
        routes: Router,
        path: &str,
        started: tokio::sync::oneshot::Receiver<()>,
    ) {
        let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
        let call = tokio::spawn(app(routes, Readiness::new()).oneshot(request));
        started.await.unwrap();
        call.abort();
    }

    #[tokio::test]
    async fn a_request_over_its_time_is_503_and_its_work_still_ends() {
        let (finished, finished_rx) = tokio::sync::oneshot::channel::<()>();
        let finished = std::sync::Arc::new(std::sync::Mutex::new(Some(finished)));
        let handler = move || {
            let finished = finished.lock().unwrap().take();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = finished.map(|finished| finished.send(()));
                "done"
            }
        };
        let routes = Router::new()
            .route("/slow", get(handler))
            .route("/quick", get(|| async { "quick" }));
        let stack = with_request_timeout(app(routes, Readiness::new()), Duration::from_millis(50));
        let call = |path: &str| {
            let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
            stack.clone().oneshot(request)
        };
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
        let started = std::sync::Arc::new(std::sync::Mutex::new(Some(started)));
        let finished = std::sync::Arc::new(std::sync::Mutex::new(Some(finished)));
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
            Router::new().route("/slow", get(handler)),
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
    async fn a_handler_learns_that_its_client_hung_up() {
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (outcome, outcome_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
        let slots = std::sync::Arc::new(std::sync::Mutex::new(Some((started, outcome))));
        let handler = move |client: Client| {
            let slots = slots.lock().unwrap().take();
            async move {
                let (started, outcome) = slots.unwrap();
                let _ = started.send(());
                let waited = client.unless_hung_up(std::future::pending::<()>()).await;
                let _ = outcome.send(waited);
                "done"
            }
        };
        hang_up_once_started(
            Router::new().route("/waits", get(handler)),
            "/waits",
            started_rx,
        )
        .await;
        let waited = tokio::time::timeout(Duration::from_secs(5), outcome_rx)
            .await
            .expect("the handler was not told its client hung up")
            .unwrap();
        assert!(matches!(waited, Err(ApiError::ClientGone)), "{waited:?}");
    }

    #[tokio::test]
    async fn a_client_that_got_its_answer_never_hung_up() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<Client>));
        let keep = seen.clone();
        let handler = move |client: Client| {
            *keep.lock().unwrap() = Some(client.clone());
            async move {
                let answered = client.unless_hung_up(async { "answered" }).await;
                answered.unwrap_or("hung up")
            }
        };
        let app = app(
            Router::new().route("/quick", get(handler)),
            Readiness::new(),
        );
        let request = axum::http::Request::get("/quick")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(&body[..], b"answered");
        let client = seen.lock().unwrap().take().unwrap();
        assert!(!client.has_hung_up());
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_envelope_instant_or_not() {
        for path in ["/panics", "/instant/panics"] {
            let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
            assert_eq!(
                answer(request).await,
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
            let get = |path: &str| axum::http::Request::get(path).body(Body::empty()).unwrap();
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

    async fn answer(request: axum::http::Request<Body>) -> (u16, String) {
        let response = stack().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    const TOO_LARGE: &str = r#"{"errors":[{"message":"Request body is too large"}]}"#;

    #[tokio::test]
    async fn a_declared_body_over_the_limit_is_413_on_every_route() {
        for (method, path) in [("GET", "/ignores"), ("POST", "/reads"), ("GET", "/nowhere")] {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-length", (BODY_LIMIT_BYTES + 1).to_string())
                .body(Body::from(vec![b' '; BODY_LIMIT_BYTES + 1]))
                .unwrap();
            assert_eq!(
                answer(request).await,
                (413, TOO_LARGE.to_owned()),
                "{method} {path}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_gigantic_body_is_never_read_to_its_end() {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pulled.clone();
        let endless = futures_util::stream::repeat_with(move || {
            counter.fetch_add(1024, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, std::io::Error>(vec![b' '; 1024])
        });
        let request = axum::http::Request::post("/reads")
            .header("content-length", (1_u64 << 40).to_string())
            .body(Body::from_stream(endless))
            .unwrap();
        assert_eq!(answer(request).await, (413, TOO_LARGE.to_owned()));
        let pulled = pulled.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            pulled <= DISCARD_AT_MOST_BYTES + 1024,
            "{pulled} bytes read"
        );
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_413_on_every_route() {
        // No Content-Length: the limit is met while reading.
        let chunks =
            (0..BODY_LIMIT_BYTES / 1024 + 1).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]));
        for (method, path) in [("POST", "/reads"), ("GET", "/ignores")] {
            let body = Body::from_stream(futures_util::stream::iter(chunks.clone()));
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .body(body)
                .unwrap();
            assert_eq!(
                answer(request).await,
                (413, TOO_LARGE.to_owned()),
                "{method} {path}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_something_went_wrong() {
        let broken = futures_util::stream::iter([
            Ok(vec![b'{'; 10]),
            Err(std::io::Error::other("connection reset")),
        ]);
        let request = axum::http::Request::post("/reads")
            .body(Body::from_stream(broken))
            .unwrap();
        assert_eq!(
            answer(request).await,
            (
                400,
                r#"{"errors":[{"message":"Something went wrong"}]}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn bodies_within_the_limit_pass() {
        let request = axum::http::Request::post("/reads")
            .header("content-length", BODY_LIMIT_BYTES.to_string())
            .body(Body::from(vec![b' '; BODY_LIMIT_BYTES]))
            .unwrap();
        assert_eq!(answer(request).await, (200, BODY_LIMIT_BYTES.to_string()));
    }
}
