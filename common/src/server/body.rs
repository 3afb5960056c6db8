//! Every request's body, read before routing and refused past [`BODY_LIMIT_BYTES`].
//!
//! The limit holds for the whole service, as the original's global body parser did: a body over
//! it is answered 413 whatever the route (whether or not it reads bodies, and before it asks for
//! a session), and never kept past the limit. A route that ignores its body thus leaves no
//! unread bytes behind, which would make hyper close the connection under a client still
//! sending and lose the answer.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::IntoResponse;
use bytes::BytesMut;
use futures_util::StreamExt as _;

use crate::error::ApiError;

/// The largest request body accepted (413 above it). Every body here is a small JSON object.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// How much of a refused body is read and thrown away before the 413 goes out, and for how long
/// at most. A server that answers and closes while the client is still sending makes the
/// client's kernel drop the answer on the reset that follows; taking in a bounded amount first
/// (a lingering close) lets ordinary clients read their 413. Beyond this, the connection closes.
const DISCARD_AT_MOST_BYTES: usize = 1024 * 1024;
const DISCARD_AT_MOST_FOR: Duration = Duration::from_secs(2);

/// Reads the request's body, then routes it: 413 in the envelope when the body is over
/// [`BODY_LIMIT_BYTES`] (declared or streamed), 400 `"Something went wrong"` when it breaks off.
pub(super) async fn read_body_first(request: Request, next: Next) -> axum::response::Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::test_stack::{TOO_LARGE, answer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `method path` with `body` (and `Content-Length` when given): the answer must be 413.
    async fn assert_too_large(method: &str, path: &str, declared: Option<usize>, body: Body) {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        if let Some(length) = declared {
            request = request.header("content-length", length.to_string());
        }
        assert_eq!(
            answer(request.body(body).unwrap()).await,
            (413, TOO_LARGE.to_owned()),
            "{method} {path}"
        );
    }

    #[tokio::test]
    async fn a_declared_body_over_the_limit_is_413_on_every_route() {
        for (method, path) in [("GET", "/ignores"), ("POST", "/reads"), ("GET", "/nowhere")] {
            let body = Body::from(vec![b' '; BODY_LIMIT_BYTES + 1]);
            assert_too_large(method, path, Some(BODY_LIMIT_BYTES + 1), body).await;
        }
    }

    #[tokio::test]
    async fn a_refused_gigantic_body_is_never_read_to_its_end() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = pulled.clone();
        let endless = futures_util::stream::repeat_with(move || {
            counter.fetch_add(1024, Ordering::Relaxed);
            Ok::<_, std::io::Error>(vec![b' '; 1024])
        });
        let request = axum::http::Request::post("/reads")
            .header("content-length", (1_u64 << 40).to_string())
            .body(Body::from_stream(endless))
            .unwrap();
        assert_eq!(answer(request).await, (413, TOO_LARGE.to_owned()));
        let pulled = pulled.load(Ordering::Relaxed);
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
            assert_too_large(method, path, None, body).await;
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
