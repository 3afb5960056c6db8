//! The [`Client`] extractor: whether the client of a request still waits for its answer.

use std::future::Future;

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::error::ApiError;

/// The client of a request: whether it still waits for the answer. An extractor.
///
/// A request runs to its end even when its client hangs up (see [`super::app`]); a handler asks
/// this before work whose only purpose is the answer, and skips it. Sign-up and sign-in do,
/// before their scrypt hash: under a burst, clients that gave up would otherwise keep the
/// hashing threads busy with work nobody waits for while their retries queue behind it, and the
/// queue would only grow. Outside [`super::app`] (a handler called directly) the client never
/// hangs up.
#[derive(Debug, Clone, Default)]
pub struct Client {
    gone: CancellationToken,
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

    /// A guard that marks the client gone when it is dropped, unless disarmed first: the
    /// request's future holds it, and drops it with the connection.
    pub(super) fn hang_up_guard(&self) -> DropGuard {
        self.gone.clone().drop_guard()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Readiness;
    use crate::server::test_stack::{get, hang_up_once_started};
    use axum::Router;
    use axum::body::to_bytes;
    use axum::routing::get as route_get;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn a_handler_learns_that_its_client_hung_up() {
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (outcome, outcome_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
        let slots = Arc::new(Mutex::new(Some((started, outcome))));
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
            Router::new().route("/waits", route_get(handler)),
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
        let seen = Arc::new(Mutex::new(None::<Client>));
        let keep = seen.clone();
        let handler = move |client: Client| {
            *keep.lock().unwrap() = Some(client.clone());
            async move {
                let answered = client.unless_hung_up(async { "answered" }).await;
                answered.unwrap_or("hung up")
            }
        };
        let app = crate::server::app(
            Router::new().route("/quick", route_get(handler)),
            Readiness::new(),
        );
        let response = app.oneshot(get("/quick")).await.unwrap();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(&body[..], b"answered");
        let client = seen.lock().unwrap().take().unwrap();
        assert!(!client.has_hung_up());
    }
}
