//! The service refuses to start without its settings, naming the first one missing.

use common::testing::process::{assert_missing_settings_named_in_order, refused_start};

/// Runs the service binary with only `variables` set; returns what it printed on stderr.
fn start_with(variables: &[(&str, &str)]) -> String {
    refused_start(env!("CARGO_BIN_EXE_expiration"), variables)
}

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    let all = [
        ("NATS_CLIENT_ID", "expiration-1"),
        ("NATS_URL", "nats://127.0.0.1:1"),
        ("REDIS_HOST", "127.0.0.1"),
    ];
    assert_missing_settings_named_in_order(env!("CARGO_BIN_EXE_expiration"), &all);
}

#[test]
fn an_unreadable_redis_port_is_named() {
    let stderr = start_with(&[
        ("NATS_CLIENT_ID", "expiration-1"),
        ("NATS_URL", "nats://127.0.0.1:1"),
        ("REDIS_HOST", "127.0.0.1"),
        ("REDIS_PORT", "sixty"),
    ]);
    assert!(stderr.contains("REDIS_PORT is not valid"), "{stderr}");
}
