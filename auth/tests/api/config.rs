//! The service refuses to start without its settings, naming the first one missing.

use common::testing::process::assert_missing_settings_named_in_order;

#[test]
fn missing_settings_are_named_in_the_originals_order() {
    let all = [
        ("JWT_KEY", common::testing::JWT_KEY),
        ("MONGO_URI", "mongodb://127.0.0.1:1/auth"),
    ];
    assert_missing_settings_named_in_order(env!("CARGO_BIN_EXE_auth"), &all);
}
