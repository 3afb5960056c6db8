//! The service refuses to start without its settings, naming the first one missing.

use common::testing::process::{assert_missing_settings_named_in_order, refused_start};

/// Runs the service binary with only `variables` set; returns what it printed on stderr.
fn start_with(variables: &[(&str, &str)]) -> String {
    refused_start(env!("CARGO_BIN_EXE_orders"), variables)
}

const ALL: [(&str, &str); 4] = [
    ("JWT_KEY", common::testing::JWT_KEY),
    ("MONGO_URI", "mongodb://127.0.0.1:1/orders"),
    ("NATS_CLIENT_ID", "orders-1"),
    ("NATS_URL", "nats://127.0.0.1:1"),
];

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    assert_missing_settings_named_in_order(env!("CARGO_BIN_EXE_orders"), &ALL);
}

#[test]
fn an_unusable_expiration_window_is_refused() {
    for window in ["soon", "-5", "99999999999"] {
        let mut variables = ALL.to_vec();
        variables.push(("EXPIRATION_WINDOW_SECONDS", window));
        let stderr = start_with(&variables);
        assert!(
            stderr.contains("EXPIRATION_WINDOW_SECONDS is not valid"),
            "{window}: {stderr}"
        );
    }
}
