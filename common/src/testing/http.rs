//! Running a built service in a test, and checking its answers.

use std::future::Future;

use serde_json::{Value, json};

use crate::server::Server;

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
