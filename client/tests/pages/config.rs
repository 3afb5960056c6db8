//! The client refuses to start without `API_BASE_URL`, or with a setting that is not a URL.

use std::process::Command;

/// What the client says on stderr when it refuses to start with just `env`.
fn refusal(env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_client"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_missing_api_base_url_is_named() {
    let stderr = refusal(&[]);
    assert!(stderr.contains("API_BASE_URL must be defined"), "{stderr}");
}

#[test]
fn an_api_base_url_that_is_not_a_url_is_refused() {
    let stderr = refusal(&[("API_BASE_URL", "ingress:80")]);
    assert!(stderr.contains("API_BASE_URL is not valid"), "{stderr}");
}

#[test]
fn a_stripe_js_url_that_is_not_a_url_is_refused() {
    let stderr = refusal(&[
        ("API_BASE_URL", "http://127.0.0.1:8080"),
        ("STRIPE_JS_URL", "js.stripe.com/v3/"),
    ]);
    assert!(stderr.contains("STRIPE_JS_URL is not valid"), "{stderr}");
}
