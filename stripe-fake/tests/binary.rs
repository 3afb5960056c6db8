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

#[tokio::test]
async fn announces_its_base_url_and_serves_there() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_stripe-fake"))
            .args(["--port", "0"])
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
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
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
