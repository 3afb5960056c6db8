//! The `stripe-fake` binary, as `cargo xtask up` runs it: it announces its base URL on stdout
//! and serves there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args` and answers it with the base URL it announced.
async fn run(args: &[&str]) -> (Running, String) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_stripe-fake"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("stripe-fake listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base_url)
}

#[tokio::test]
async fn announces_its_base_url_and_serves_there() {
    let (_child, base_url) = run(&["--port", "0"]).await;
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let http = reqwest::Client::new();
    let charge: serde_json::Value = http
        .post(format!("{base_url}/v1/charges"))
        .bearer_auth("sk_test_local")
        .form(&[
            ("amount", "2000"),
            ("currency", "usd"),
            ("source", "tok_visa"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(charge["status"], "succeeded");
    let ledger: stripe_fake::LedgerSnapshot = http
        .get(format!("{base_url}/__ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger.charges.len(), 1);
}

#[tokio::test]
async fn delivers_signed_webhooks_to_the_endpoint_its_flags_name() {
    let (sender, mut deliveries) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let endpoint = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let signature = headers["stripe-signature"].to_str().unwrap().to_owned();
            let _ = sender.send((body, signature));
            async {}
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let webhook_url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, endpoint).await });
    let (_child, base_url) = run(&[
        "--port",
        "0",
        "--webhook-url",
        &webhook_url,
        "--webhook-secret",
        "whsec_cli",
    ])
    .await;

    let http = reqwest::Client::new();
    let intent: serde_json::Value = http
        .post(format!("{base_url}/v1/payment_intents"))
        .bearer_auth("sk_test_local")
        .form(&[("amount", "2000"), ("currency", "usd")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = intent["id"].as_str().unwrap();
    let cancelled = http
        .post(format!("{base_url}/v1/payment_intents/{id}/cancel"))
        .bearer_auth("sk_test_local")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status().as_u16(), 200);
    let (payload, signature) =
        tokio::time::timeout(std::time::Duration::from_secs(10), deliveries.recv())
            .await
            .unwrap()
            .unwrap();
    let event =
        stripe_webhook::Webhook::construct_event(&payload, &signature, "whsec_cli").unwrap();
    assert_eq!(event.type_.as_str(), "payment_intent.canceled");
}
