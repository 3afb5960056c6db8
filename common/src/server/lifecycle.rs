//! A service's process: [`run_service`] from the environment to the stop signal, [`Server`]
//! bound to its port with its background work, and [`serve`].

use std::future::Future;

use axum::Router;
use axum::extract::Request;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use super::stack::with_request_timeout;
use crate::background::Background;

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
/// it (no generics are shared between crates at opt-level 3), which made each service's release
/// build much longer.
pub fn run_service<C, Built>(
    from_env: impl FnOnce() -> Result<C, crate::config::ConfigError>,
    build: impl FnOnce(C) -> Built,
) -> anyhow::Result<()>
where
    Built: Future<Output = anyhow::Result<Server>>,
{
    // Held to the end: dropping it writes out the lines still queued.
    let _logging = crate::telemetry::init();
    // Before anything is counted: what is recorded before the recorder is installed is lost.
    crate::metrics::handle();
    let config = from_env()?;
    tokio::runtime::Runtime::new()?.block_on(async {
        build(config).await?.run_until_stopped().await?;
        Ok(())
    })
}

/// A service bound to its port and its metrics port, its background work running: what
/// `build(config)` of every service returns.
pub struct Server {
    listener: TcpListener,
    app: Router,
    metrics: TcpListener,
    background: Background,
}

impl Server {
    /// Binds `listen`'s host and port (port 0 picks a free one) for `app`, answering 503 in
    /// the envelope for a request not answered within `listen.request_timeout`. Such a
    /// request's work is not cut: its handler runs on in its own task to its end, as when a
    /// client hangs up (see [`super::app`]), so its effects stay all or nothing. The metrics
    /// ([`crate::metrics`]) are served on `listen.metrics_port`.
    pub async fn bind(listen: &crate::config::Listen, app: Router) -> std::io::Result<Server> {
        crate::metrics::handle();
        let app = with_request_timeout(app, listen.request_timeout);
        let listener = TcpListener::bind((listen.host.as_str(), listen.port)).await?;
        let metrics = TcpListener::bind((listen.host.as_str(), listen.metrics_port)).await?;
        if let (Ok(address), Ok(metrics)) = (listener.local_addr(), metrics.local_addr()) {
            tracing::info!(%address, %metrics, "listening");
        }
        Ok(Server {
            listener,
            app,
            metrics,
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

    /// The port its metrics are served on.
    pub fn metrics_port(&self) -> u16 {
        self.metrics
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
        // Metrics are answered until the API has drained; then they stop with it.
        let drained = tokio_util::sync::CancellationToken::new();
        let metrics = tokio::spawn(
            axum::serve(self.metrics, crate::metrics::router())
                .with_graceful_shutdown(drained.clone().cancelled_owned())
                .into_future(),
        );
        let served = serve(self.listener, self.app, shutdown).await;
        drained.cancel();
        let _ = metrics.await;
        self.background.stop().await;
        served
    }
}
