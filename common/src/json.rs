//! JSON bodies in and out, with the envelope for every rejection.
//!
//! Like the original's body-parser: a body is read as JSON only when the request says
//! `Content-Type: application/json`; otherwise it counts as `{}` and the route's validation
//! says what is missing. A body that is not valid JSON, or not a JSON object, is 400
//! `"Something went wrong"`; one over the size limit is 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: an extractor (rejections in the envelope) and a response
/// (`Content-Type: application/json; charset=utf-8`, as the original sends).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<mime_lite::Mime>().ok())
            .is_some_and(|mime| mime.is_json());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::malformed()
                }
            })?;
        let value = if is_json && !bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|_| ApiError::malformed())?
        } else {
            serde_json::Value::Object(serde_json::Map::new())
        };
        if !value.is_object() {
            return Err(ApiError::malformed());
        }
        serde_json::from_value(value)
            .map(Json)
            .map_err(|_| ApiError::malformed())
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )],
                body,
            )
                .into_response(),
            Err(error) => ApiError::Internal(error.into()).into_response(),
        }
    }
}

/// Just enough media-type parsing to recognise JSON: `application/json`, any `+json` suffix,
/// parameters and case ignored.
mod mime_lite {
    pub(super) struct Mime(String);

    impl std::str::FromStr for Mime {
        type Err = ();
        fn from_str(value: &str) -> Result<Self, ()> {
            let essence = value
                .split(';')
                .next()
                .ok_or(())?
                .trim()
                .to_ascii_lowercase();
            Ok(Mime(essence))
        }
    }

    impl Mime {
        pub(super) fn is_json(&self) -> bool {
            self.0 == "application/json"
                || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body_ {
        #[serde(default)]
        email: String,
    }

    async fn extract(content_type: Option<&str>, body: &'static str) -> Result<Body_, ApiError> {
        let mut request = Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Body::from(body)).unwrap();
        Json::<Body_>::from_request(request, &())
            .await
            .map(|Json(body)| body)
    }

    #[tokio::test]
    async fn reads_json_bodies_and_treats_other_content_types_as_empty() {
        let parsed = extract(
            Some("application/json; charset=utf-8"),
            r#"{"email":"a@b.co"}"#,
        )
        .await;
        assert_eq!(parsed.unwrap().email, "a@b.co");
        let not_json = extract(Some("text/plain"), r#"{"email":"a@b.co"}"#).await;
        assert_eq!(not_json.unwrap().email, "");
        assert_eq!(extract(None, "").await.unwrap().email, "");
    }

    #[tokio::test]
    async fn malformed_or_non_object_json_is_something_went_wrong() {
        for body in [
            r#"{"email":"#,
            "[1,2]",
            "42",
            r#""text""#,
            r#"{"email": 5}"#,
        ] {
            let error = extract(Some("application/json"), body).await.unwrap_err();
            assert!(
                matches!(&error, ApiError::BadRequest(message) if message == "Something went wrong"),
                "{body}: {error:?}"
            );
        }
    }
}
