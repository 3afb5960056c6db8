//! The client refuses to start without `API_BASE_URL`.

use std::process::Command;

#[test]
fn a_missing_api_base_url_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_client"))
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API_BASE_URL must be defined"), "{stderr}");
}

#[test]
fn an_api_base_url_that_is_not_a_url_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_client"))
        .env_clear()
        .env("API_BASE_URL", "ingress:80")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API_BASE_URL is not valid"), "{stderr}");
}
