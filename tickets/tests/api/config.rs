//! The service refuses to start without its settings, naming the first one missing.

use std::process::Command;

/// Runs the service binary with only `variables` set; returns what it printed on stderr.
fn start_with(variables: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tickets"))
        .env_clear()
        .envs(variables.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    let all = [
        ("JWT_KEY", "asdfasdf"),
        ("MONGO_URI", "mongodb://127.0.0.1:1/tickets"),
        ("NATS_CLIENT_ID", "tickets-1"),
        ("NATS_URL", "nats://127.0.0.1:1"),
    ];
    for (set, (missing, _)) in all.iter().enumerate() {
        let stderr = start_with(&all[..set]);
        assert!(
            stderr.contains(&format!("{missing} must be defined")),
            "with {:?} set: {stderr}",
            &all[..set]
        );
    }
}
