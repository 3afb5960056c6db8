//! `provision` as `cargo xtask up` runs it: JSON in, the users' setup out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn provision(command: &str, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_nats_authorization_names_every_user_with_its_password() {
    let output = provision(
        "nats-authorization",
        r#"{"passwords": {"auth": "a1", "tickets": "t1", "orders": "o1", "payments": "p1",
            "expiration": "e1", "operator": "op1"}}"#,
    );
    assert!(output.status.success(), "{output:?}");
    let config = String::from_utf8(output.stdout).unwrap();
    for (user, password) in [
        ("auth", "a1"),
        ("tickets", "t1"),
        ("orders", "o1"),
        ("payments", "p1"),
        ("expiration", "e1"),
        ("operator", "op1"),
    ] {
        assert!(config.contains(&format!("user: \"{user}\"")), "{config}");
        assert!(
            config.contains(&format!("password: \"{password}\"")),
            "{config}"
        );
    }
}

#[test]
fn a_missing_password_or_command_is_refused_with_a_reason() {
    let output = provision("nats-authorization", r#"{"passwords": {"tickets": "t1"}}"#);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no password for NATS user"));

    let output = provision("make-coffee", "{}");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown command"));
}
