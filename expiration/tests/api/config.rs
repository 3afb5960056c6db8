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

#[test]
fn a_missing_or_wrong_redis_password_fails_the_start_with_one_clear_line() {
    // redis://:PASSWORD@127.0.0.1:PORT, a Redis that requires the password.
    let secured = common::testing::secured::secured_redis_url();
    let port = secured.rsplit(':').next().unwrap_or_default().to_owned();
    let nats_url = common::testing::nats_url();
    for (label, password) in [("missing", None), ("wrong", Some("not-the-password"))] {
        let mut variables = vec![
            ("NATS_CLIENT_ID", "expiration-1"),
            ("NATS_URL", nats_url.as_str()),
            ("REDIS_HOST", "127.0.0.1"),
            ("REDIS_PORT", port.as_str()),
            // The shared server reserves each stream's bound out of its store, which is sized
            // by the host's free disk: the default 512 MiB would fail on a nearly full disk.
            ("EVENTS_MAX_BYTES", "1048576"),
        ];
        variables.extend(password.map(|password| ("REDIS_PASSWORD", password)));
        let stderr = start_with(&variables);
        assert!(
            stderr.contains("Redis refused the password"),
            "{label}: {stderr}"
        );
    }
}
