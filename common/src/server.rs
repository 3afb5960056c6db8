//! The HTTP stack every service runs: 404 fallback in the envelope, a body size limit, one log
//! line per request, `/healthz` and `/readyz`, trailing slashes ignored, graceful shutdown.
//!
//! [`Server`] is a built service: its router bound to its port, with the background work
//! (listeners, relay, workers) that is stopped after the last request has been answered.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Response;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::background::Background;
use crate::error::not_found;
use crate::health::{self, Readiness};

/// The largest request body accepted (413 above it). Every body here is a small JSON object.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Wraps a service's routes (state already applied) with the shared stack.
pub fn app(routes: Router, readiness: Readiness) -> Router {
    let routes = routes
        .merge(health::routes(readiness))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    with_request_logs(routes)
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
    let service = axum::ServiceExt::<Request>::into_make_service(app);
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A service bound to its port, its background work running: what `build(config)` of every
/// service returns.
pub struct Server {
    listener: TcpListener,
    app: Router,
    background: Background,
}

impl Server {
    /// Binds `host:port` (port 0 picks a free one) for `app`.
    pub async fn bind(host: &str, port: u16, app: Router) -> std::io::Result<Server> {
        let listener = TcpListener::bind((host, port)).await?;
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
