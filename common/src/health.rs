//! `/healthz` (the process is up) and `/readyz` (its dependencies answer), for the probes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures_util::future::BoxFuture;
use serde_json::json;

use crate::Json;

/// How long one dependency may take to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type Check = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// The dependencies `/readyz` checks.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    /// No checks yet.
    pub fn new() -> Self {
        Readiness::default()
    }

    /// Adds a named check.
    pub fn with<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// Adds a check that `database` answers a ping.
    pub fn with_mongo(self, database: mongodb::Database) -> Self {
        self.with("mongo", move || {
            let database = database.clone();
            async move { crate::mongo::ping(&database).await }
        })
    }

    /// Adds a check that the bus connection is up.
    pub fn with_bus(self, bus: crate::bus::Bus) -> Self {
        self.with("nats", move || {
            let connected = bus.is_connected();
            async move {
                if connected {
                    Ok(())
                } else {
                    anyhow::bail!("not connected to NATS")
                }
            }
        })
    }

    /// Runs every check; the names of those that failed.
    pub async fn failing(&self) -> Vec<&'static str> {
        let mut failing = Vec::new();
        for (name, check) in &self.checks {
            // Spawned and timed out by handle, so a slow driver future is never dropped mid-way.
            let handle = tokio::spawn(check());
            match tokio::time::timeout(CHECK_TIMEOUT, handle).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => {
                    tracing::warn!(check = name, error = %error, "readiness check failed");
                    failing.push(*name);
                }
                Ok(Err(_)) | Err(_) => {
                    tracing::warn!(check = name, "readiness check timed out");
                    failing.push(*name);
                }
            }
        }
        failing
    }
}

/// The two probe routes.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, Json<serde_json::Value>) {
    let failing = readiness.failing().await;
    if failing.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "failing": failing })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn status_of(readiness: Readiness, path: &str) -> StatusCode {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        routes(readiness).oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn ready_only_when_every_check_passes() {
        let healthy = Readiness::new().with("a", || async { Ok(()) });
        assert_eq!(status_of(healthy.clone(), "/readyz").await, StatusCode::OK);
        let broken = healthy.with("b", || async { anyhow::bail!("down") });
        assert_eq!(
            status_of(broken.clone(), "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(broken, "/healthz").await, StatusCode::OK);
    }
}
