//! The error type of every HTTP service and the envelope it is written as.
//!
//! Client mistakes are 4xx with a message meant for the user. Server faults are 500 with the
//! fixed message `"Something went wrong"`; their detail is logged once here and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::retry_after::retry_after_seconds;

/// The message of every server fault, and of malformed ids and JSON bodies.
pub const SOMETHING_WENT_WRONG: &str = "Something went wrong";

/// The message of a request refused by a rate limit (429).
pub const TOO_MANY_REQUESTS: &str = "Too many requests, try again later";

/// One entry of the error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// What is wrong, for the user.
    pub message: String,
    /// The body field it is about; only validation errors name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// At least one entry.
    pub errors: Vec<FieldError>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with this message.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 400 with one entry per failed check, in declaration order.
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    /// 401 `"Not authorized"`.
    #[error("not authorized")]
    NotAuthorized,
    /// 404 `"Not Found"`.
    #[error("not found")]
    NotFound,
    /// 413: the body is over the size limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 429 [`TOO_MANY_REQUESTS`] with `Retry-After`: `retry_after` in whole seconds, rounded
    /// up, at least 1 (see [`crate::rate_limit`]).
    #[error("rate limited for {retry_after:?}")]
    TooManyRequests { retry_after: std::time::Duration },
    /// The client hung up before the work its answer needed began (see
    /// [`crate::server::Client`]), so it was skipped. Nobody is there to read this answer: it is
    /// 499, nginx's "client closed request", for the logs.
    #[error("the client hung up")]
    ClientGone,
    /// 503 [`SERVICE_UNAVAILABLE`]: a server the answer depends on (the bus) did not take
    /// the change; nothing was done, and trying again later may work. The cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(anyhow::Error),
    /// 500 `"Something went wrong"`; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The message of a 503.
pub const SERVICE_UNAVAILABLE: &str = "Service unavailable, please try again";

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    /// 400 `"Something went wrong"`: what the original answers for a malformed id or JSON body.
    pub fn malformed() -> Self {
        ApiError::BadRequest(SOMETHING_WENT_WRONG.to_owned())
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ClientGone => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_errors(self) -> Vec<FieldError> {
        let message = |message: &str| {
            vec![FieldError {
                message: message.to_owned(),
                field: None,
            }]
        };
        match self {
            ApiError::BadRequest(text) => message(&text),
            ApiError::Validation(errors) => errors,
            ApiError::NotAuthorized => message("Not authorized"),
            ApiError::NotFound => message("Not Found"),
            ApiError::PayloadTooLarge => message("Request body is too large"),
            ApiError::TooManyRequests { .. } => message(TOO_MANY_REQUESTS),
            ApiError::ClientGone => message("The client closed the request"),
            ApiError::Unavailable(_) => message(SERVICE_UNAVAILABLE),
            ApiError::Internal(_) => message(SOMETHING_WENT_WRONG),
        }
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(error: mongodb::error::Error) -> Self {
        ApiError::Internal(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(error = ?cause, "request refused"),
            _ => {}
        }
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after } => Some(retry_after_seconds(*retry_after)),
            _ => None,
        };
        let mut response = (
            status,
            crate::Json(ErrorEnvelope {
                errors: self.into_errors(),
            }),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The fallback of every router: unknown routes and wrong methods are 404 in the envelope.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body_of(error: ApiError) -> (StatusCode, String, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (
            status,
            content_type,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_rate_limited_request_is_429_with_retry_after_in_whole_seconds() {
        let error = ApiError::TooManyRequests {
            retry_after: std::time::Duration::from_millis(5_001),
        };
        let response = error.into_response();
        assert_eq!(response.headers()["retry-after"], "6");
        let (status, _, body) = body_of(ApiError::TooManyRequests {
            retry_after: std::time::Duration::ZERO,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            body,
            serde_json::json!({"errors": [{"message": "Too many requests, try again later"}]})
        );
    }

    #[tokio::test]
    async fn each_error_has_its_status_and_envelope() {
        let cases = [
            (
                ApiError::bad_request("Email in use"),
                400,
                r#"{"errors":[{"message":"Email in use"}]}"#,
            ),
            (
                ApiError::NotAuthorized,
                401,
                r#"{"errors":[{"message":"Not authorized"}]}"#,
            ),
            (
                ApiError::NotFound,
                404,
                r#"{"errors":[{"message":"Not Found"}]}"#,
            ),
            (
                ApiError::malformed(),
                400,
                r#"{"errors":[{"message":"Something went wrong"}]}"#,
            ),
            (
                ApiError::Internal(anyhow::anyhow!("connection refused to 10.0.0.1")),
                500,
                r#"{"errors":[{"message":"Something went wrong"}]}"#,
            ),
            (
                ApiError::Validation(vec![
                    FieldError::new("email", "Email must be valid"),
                    FieldError::new("password", "Password must be between 4 and 20 characters"),
                ]),
                400,
                r#"{"errors":[{"message":"Email must be valid","field":"email"},{"message":"Password must be between 4 and 20 characters","field":"password"}]}"#,
            ),
        ];
        for (error, status, expected) in cases {
            let (actual_status, content_type, body) = body_of(error).await;
            assert_eq!(actual_status.as_u16(), status);
            assert_eq!(content_type, "application/json; charset=utf-8");
            assert_eq!(
                body,
                serde_json::from_str::<serde_json::Value>(expected).unwrap()
            );
        }
    }
}
