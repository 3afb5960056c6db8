//! The service refuses to start without its settings, naming the first one missing.

use common::testing::process::{assert_missing_settings_named_in_order, refused_start};

/// Runs the service binary with only `variables` set; returns what it printed on stderr.
fn start_with(variables: &[(&str, &str)]) -> String {
    refused_start(env!("CARGO_BIN_EXE_payments"), variables)
}

const ALL: [(&str, &str); 5] = [
    ("JWT_KEY", common::testing::JWT_KEY),
    ("MONGO_URI", "mongodb://127.0.0.1:1/payments"),
    ("NATS_CLIENT_ID", "payments-1"),
    ("NATS_URL", "nats://127.0.0.1:1"),
    ("STRIPE_KEY", "sk_test_secret_value"),
];

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    assert_missing_settings_named_in_order(env!("CARGO_BIN_EXE_payments"), &ALL);
}

#[test]
fn a_stripe_timeout_longer_than_the_reconciler_wait_is_refused() {
    let mut variables = ALL.to_vec();
    variables.push(("STRIPE_TIMEOUT_SECONDS", "60"));
    let stderr = start_with(&variables);
    assert!(
        stderr.contains("STRIPE_TIMEOUT_SECONDS is not valid"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk_test_secret_value"), "{stderr}");
}
