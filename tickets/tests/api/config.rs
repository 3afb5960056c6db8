//! The service refuses to start without its settings, naming the first one missing, and
//! refuses settings that would make it unsafe.

use common::testing::process::{assert_missing_settings_named_in_order, refused_start};

const ALL: [(&str, &str); 4] = [
    ("JWT_KEY", common::testing::JWT_KEY),
    ("MONGO_URI", "mongodb://127.0.0.1:1/tickets"),
    ("NATS_CLIENT_ID", "tickets-1"),
    ("NATS_URL", "nats://127.0.0.1:1"),
];

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    assert_missing_settings_named_in_order(env!("CARGO_BIN_EXE_tickets"), &ALL);
}

#[test]
fn a_short_session_key_is_refused() {
    // 31 bytes: one short of what HS256 needs; the original tests' `asdfasdf` among them.
    for key in ["asdfasdf", &"k".repeat(31)] {
        let mut variables = ALL.to_vec();
        variables[0] = ("JWT_KEY", key);
        let stderr = refused_start(env!("CARGO_BIN_EXE_tickets"), &variables);
        assert!(
            stderr.contains("JWT_KEY is not valid") && stderr.contains("at least 32"),
            "{key}: {stderr}"
        );
    }
}

#[test]
fn a_user_without_a_password_is_refused() {
    let mut variables = ALL.to_vec();
    variables.push(("NATS_USER", "tickets"));
    let stderr = refused_start(env!("CARGO_BIN_EXE_tickets"), &variables);
    assert!(stderr.contains("NATS_PASSWORD must be defined"), "{stderr}");
}
