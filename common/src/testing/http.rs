//! Running a built service in a test, calling it, and checking its answers.

use std::future::Future;

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

use crate::server::Server;

/// One running replica of a service, and what backs it (`B`: a service's [`super::Backing`]
/// with its models). Each service's test helpers add its requests.
pub struct TestApp<B> {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// `http://127.0.0.1:PORT` of its metrics.
    pub metrics_address: String,
    /// A client that follows no redirect: a test sees each answer as it is.
    pub client: reqwest::Client,
    /// What the replica shares with the test and with the other replicas.
    pub backing: B,
}

impl<B> TestApp<B> {
    /// Runs `server` in the background until the test ends.
    pub fn spawn(server: Server, backing: B) -> TestApp<B> {
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(error) => panic!("test harness: no HTTP client: {error}"),
        };
        let metrics_address = format!("http://127.0.0.1:{}", server.metrics_port());
        TestApp {
            address: spawn(server),
            metrics_address,
            client,
            backing,
        }
    }

    /// What the replica's metrics port serves now (`GET /metrics`), and the value of each
    /// sample: `name{labels} value` lines, keyed by `name{labels}`.
    pub async fn metrics(&self) -> super::Samples {
        let url = format!("{}{}", self.metrics_address, crate::metrics::PATH);
        let text = match self.client.get(url).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(error) => panic!("test harness: no metrics: {error}"),
        };
        super::samples(&text)
    }

    /// The address of `path` on this replica.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `request`, signed in with `cookie` if given; a request not answered fails the test.
    pub async fn send(&self, request: RequestBuilder, cookie: Option<&str>) -> Response {
        let request = match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        match request.send().await {
            Ok(response) => response,
            Err(error) => panic!("the request was not answered: {error}"),
        }
    }

    /// `GET path`, signed in with `cookie` if given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        self.send(self.client.get(self.url(path)), cookie).await
    }

    /// `POST path` with the JSON `body`, signed in with `cookie` if given.
    pub async fn post(&self, path: &str, cookie: Option<&str>, body: &Value) -> Response {
        self.send(self.client.post(self.url(path)).json(body), cookie)
            .await
    }

    /// `PUT path` with the JSON `body`, signed in with `cookie` if given.
    pub async fn put(&self, path: &str, cookie: Option<&str>, body: &Value) -> Response {
        self.send(self.client.put(self.url(path)).json(body), cookie)
            .await
    }

    /// `DELETE path`, signed in with `cookie` if given.
    pub async fn delete(&self, path: &str, cookie: Option<&str>) -> Response {
        self.send(self.client.delete(self.url(path)), cookie).await
    }
}

/// Runs `server` in the background until the test ends; its base URL (`http://127.0.0.1:PORT`).
pub fn spawn(server: Server) -> String {
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until(std::future::pending()));
    address
}

/// Runs `server` until `shutdown` completes; its base URL and the task serving it.
pub fn spawn_until(
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let address = format!("http://127.0.0.1:{}", server.port());
    (address, tokio::spawn(server.run_until(shutdown)))
}

/// Asserts the status and the exact error envelope, with its content type.
pub async fn assert_errors(response: reqwest::Response, status: u16, errors: Value) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = match response.json().await {
        Ok(body) => body,
        Err(error) => panic!("the error body is not JSON: {error}"),
    };
    assert_eq!(body, json!({ "errors": errors }));
}

/// Asserts the status and an envelope holding the one error `message` (no field).
pub async fn assert_message(response: reqwest::Response, status: u16, message: &str) {
    assert_errors(response, status, json!([{ "message": message }])).await;
}

/// Asserts a 429 `"Too many requests, try again later"` in the envelope with a `Retry-After` of
/// whole seconds, at least one; those seconds.
pub async fn assert_rate_limited(response: reqwest::Response) -> u64 {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let Some(retry_after) = retry_after else {
        panic!("a 429 says when to retry, in whole seconds: {response:?}");
    };
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    assert_message(response, 429, crate::error::TOO_MANY_REQUESTS).await;
    retry_after
}

/// Sends `request` and asserts the 404 `"Not Found"` envelope: an unknown route or a wrong method.
pub async fn assert_not_found(request: reqwest::RequestBuilder) {
    match request.send().await {
        Ok(response) => assert_message(response, 404, "Not Found").await,
        Err(error) => panic!("the request was not answered: {error}"),
    }
}

/// Asserts that `/healthz` and `/readyz` answer 200.
pub async fn assert_probes_answer(address: &str) {
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let response = match client.get(format!("{address}{path}")).send().await {
            Ok(response) => response,
            Err(error) => panic!("{path} did not answer: {error}"),
        };
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}
