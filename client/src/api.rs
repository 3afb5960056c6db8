//! Calling the API from the server, as the original's `buildClient` did.
//!
//! Requests go to the ingress at `API_BASE_URL`, never to a service directly, carrying the
//! browser's `Cookie` (so the session reaches the API; not the anti-CSRF cookie, which is the
//! client's alone) and `Host` (so the ingress matches its host rule, `ticketing.dev` in
//! Kubernetes), plus the forwarding headers, and the page's own `traceparent`, so that the API's
//! spans continue the page's trace ([`common::telemetry`]). An answer is either
//! the JSON the page wanted, a [`Rejection`] (4xx: the messages of the error envelope, for the
//! page to show), or a [`ApiFailure::Unavailable`] (unreachable, 5xx, unreadable), which pages
//! turn into a friendly error page. `Set-Cookie` headers of an answer are kept so a handler can
//! relay them to the browser (sign up, sign in, sign out).

use std::convert::Infallible;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use common::telemetry::propagation;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::csrf_token::without_token_cookie;

/// How long one API call may take before the page gives up on it.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// The browser's headers that go along with every API call.
const FORWARDED_HEADERS: [HeaderName; 6] = [
    header::COOKIE,
    header::HOST,
    header::USER_AGENT,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-real-ip"),
];

/// An HTTP client for the API behind the ingress.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    /// The largest answer read (`API_ANSWER_MAX_BYTES`); a longer one is a failure.
    max_answer_bytes: usize,
}

/// The headers of the browser's request that an API call carries.
#[derive(Debug, Clone, Default)]
pub struct Forwarded(HeaderMap);

impl Forwarded {
    /// The forwardable subset of `headers`.
    pub fn from_headers(headers: &HeaderMap) -> Forwarded {
        let mut forwarded = HeaderMap::new();
        for name in FORWARDED_HEADERS {
            for value in headers.get_all(&name) {
                let value = if name == header::COOKIE {
                    match without_token_cookie(value) {
                        Some(value) => value,
                        None => continue,
                    }
                } else {
                    value.clone()
                };
                forwarded.append(name.clone(), value);
            }
        }
        Forwarded(forwarded)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Forwarded {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Forwarded::from_headers(&parts.headers))
    }
}

/// A successful answer: its body and the cookies it set.
#[derive(Debug)]
pub struct Answer<T> {
    /// The decoded JSON body.
    pub body: T,
    /// Its `Set-Cookie` headers, to relay to the browser.
    pub set_cookies: Vec<HeaderValue>,
    /// Its `Link` header (RFC 8288) as `(rel, target)` pairs: the neighbouring pages of a list.
    pub links: Vec<(String, String)>,
}

impl<T> Answer<T> {
    /// The target of the link with relation `rel`, if the answer has one.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links
            .iter()
            .find(|(name, _)| name == rel)
            .map(|(_, target)| target.as_str())
    }
}

/// The `(rel, target)` pairs of `Link` headers written as `<target>; rel="name", ...`; anything
/// else is skipped.
fn links_of(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let rel = params.trim().strip_prefix("rel=")?.trim_matches('"');
            Some((rel.to_owned(), target.to_owned()))
        })
        .collect()
}

/// The API said no (4xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its status.
    pub status: StatusCode,
    /// One message per entry of its error envelope, in order.
    pub messages: Vec<String>,
}

/// Why a call did not give the JSON asked for.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    /// 4xx: show the messages to the user.
    #[error("the API refused: {0:?}")]
    Rejected(Rejection),
    /// Unreachable, 5xx, or an answer that is not what the API promises.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// The signed-in user, as `GET /api/users/currentuser` describes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: String,
    /// The user's email.
    pub email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CurrentUserBody {
    current_user: Option<User>,
}

/// The error envelope `{"errors":[{"message","field"?}]}`.
#[derive(Deserialize)]
struct Envelope {
    errors: Vec<EnvelopeEntry>,
}

#[derive(Deserialize)]
struct EnvelopeEntry {
    message: String,
}

impl Api {
    /// A client for the API at `base` (the ingress), reading answers of at most
    /// `max_answer_bytes`.
    pub fn new(base: Url, max_answer_bytes: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            // A redirect is the API's to give to the browser, not ours to follow.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(API_TIMEOUT)
            .build()
            .context("building the API client")?;
        Ok(Api {
            http,
            base,
            max_answer_bytes,
        })
    }

    /// The signed-in user, if any.
    pub async fn current_user(&self, forwarded: &Forwarded) -> Result<Option<User>, ApiFailure> {
        let answer: Answer<CurrentUserBody> = self
            .call(
                Method::GET,
                "/api/users/currentuser",
                forwarded,
                None::<&()>,
            )
            .await?;
        Ok(answer.body.current_user)
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        forwarded: &Forwarded,
        path: &str,
    ) -> Result<Answer<T>, ApiFailure> {
        self.call(Method::GET, path, forwarded, None::<&()>).await
    }

    /// `POST path` with a JSON `body`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        forwarded: &Forwarded,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Answer<T>, ApiFailure> {
        self.call(Method::POST, path, forwarded, Some(body)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        forwarded: &Forwarded,
        body: Option<&impl Serialize>,
    ) -> Result<Answer<T>, ApiFailure> {
        let url = self
            .base
            .join(path)
            .with_context(|| format!("joining {path} to the API base URL"))?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .headers(forwarded.0.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(traceparent) = propagation::traceparent(&tracing::Span::current()) {
            request = request.header(propagation::TRACEPARENT, traceparent);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {method} {path}"))?;
        let status = response.status();
        let set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        let links = links_of(response.headers());
        let bytes = read_capped(response, self.max_answer_bytes)
            .await
            .with_context(|| format!("reading the answer to {method} {path}"))?;
        if status.is_success() {
            let body = serde_json::from_slice(&bytes).with_context(|| {
                format!("{method} {path} answered {status} with unexpected JSON")
            })?;
            return Ok(Answer {
                body,
                set_cookies,
                links,
            });
        }
        if status.is_client_error() {
            return Err(ApiFailure::Rejected(Rejection {
                status,
                messages: messages_of(&bytes),
            }));
        }
        Err(anyhow!("{method} {path} answered {status}").into())
    }
}

/// The body of `response`, unless it is longer than `limit` bytes: then an error, after reading
/// no more than the limit (a page's memory does not grow with what the API sends).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> anyhow::Result<Vec<u8>> {
    let too_long = || anyhow!("the answer is longer than {limit} bytes (API_ANSWER_MAX_BYTES)");
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The messages of an error envelope; a 4xx without one (a proxy's page, say) gets a generic one.
fn messages_of(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) if !envelope.errors.is_empty() => envelope
            .errors
            .into_iter()
            .map(|entry| entry.message)
            .collect(),
        _ => vec![common::error::SOMETHING_WENT_WRONG.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_by_relation() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                r#"</api/tickets?limit=3&after=b>; rel="next", </api/tickets?limit=3&before=a>; rel="prev", junk"#,
            ),
        );
        assert_eq!(
            links_of(&headers),
            [
                ("next".to_owned(), "/api/tickets?limit=3&after=b".to_owned()),
                (
                    "prev".to_owned(),
                    "/api/tickets?limit=3&before=a".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn envelopes_become_one_message_per_entry() {
        let body = br#"{"errors":[{"message":"Email must be valid","field":"email"},{"message":"Password must be between 4 and 20 characters","field":"password"}]}"#;
        assert_eq!(
            messages_of(body),
            [
                "Email must be valid",
                "Password must be between 4 and 20 characters"
            ]
        );
        assert_eq!(
            messages_of(b"<html>bad gateway</html>"),
            ["Something went wrong"]
        );
        assert_eq!(messages_of(br#"{"errors":[]}"#), ["Something went wrong"]);
    }

    #[tokio::test]
    async fn a_call_continues_the_trace_of_the_page_that_makes_it() {
        use common::testing::trace_id;
        use tracing::Instrument as _;
        let _spans = common::testing::trace_ids();
        let (seen, mut sent) = tokio::sync::mpsc::unbounded_channel();
        let answer = move |headers: HeaderMap| {
            let traceparent = headers.get(propagation::TRACEPARENT).cloned();
            let _ = seen.send(traceparent.and_then(|value| value.to_str().ok().map(str::to_owned)));
            async { axum::Json(serde_json::json!({ "currentUser": null })) }
        };
        let routes =
            axum::Router::new().route("/api/users/currentuser", axum::routing::get(answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(axum::serve(listener, routes).into_future());
        let api = Api::new(base, 1024).unwrap();

        let page = tracing::info_span!("request");
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        propagation::continue_trace(&page, Some(incoming));
        let anonymous = Forwarded::default();
        let user = api.current_user(&anonymous).instrument(page).await;
        assert_eq!(user.unwrap(), None);
        let continued = sent.recv().await.unwrap().expect("no traceparent sent");
        assert_eq!(trace_id(&continued), trace_id(incoming), "{continued}");

        // Outside any span, there is no trace to continue.
        api.current_user(&anonymous).await.unwrap();
        assert_eq!(sent.recv().await.unwrap(), None);
    }

    #[test]
    fn only_the_forwardable_headers_are_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("csrf=0123; session=abc"),
        );
        headers.insert(header::HOST, HeaderValue::from_static("ticketing.dev"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        let Forwarded(forwarded) = Forwarded::from_headers(&headers);
        assert_eq!(forwarded.len(), 3);
        assert_eq!(forwarded[header::COOKIE], "session=abc");

        headers.insert(header::COOKIE, HeaderValue::from_static("csrf=0123"));
        let Forwarded(forwarded) = Forwarded::from_headers(&headers);
        assert!(!forwarded.contains_key(header::COOKIE));
        assert_eq!(forwarded[header::HOST], "ticketing.dev");
        assert_eq!(forwarded["x-forwarded-for"], "10.0.0.1");
    }
}
