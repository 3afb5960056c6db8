//! Running a service's binary, for the tests of what it refuses at start-up.

use std::process::Command;

/// Runs `binary` with only `variables` set, expects it to refuse to start, and returns what it
/// printed on stderr.
pub fn refused_start(binary: &str, variables: &[(&str, &str)]) -> String {
    let output = match Command::new(binary)
        .env_clear()
        .envs(variables.iter().copied())
        .output()
    {
        Ok(output) => output,
        Err(error) => panic!("cannot run {binary}: {error}"),
    };
    assert!(
        !output.status.success(),
        "{binary} started with only {variables:?}"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `binary` names each of `settings` as `<NAME> must be defined` when it and the
/// ones after it are missing: they are checked in this order.
pub fn assert_missing_settings_named_in_order(binary: &str, settings: &[(&str, &str)]) {
    for (set, (missing, _)) in settings.iter().enumerate() {
        let stderr = refused_start(binary, &settings[..set]);
        assert!(
            stderr.contains(&format!("{missing} must be defined")),
            "with {:?} set: {stderr}",
            &settings[..set]
        );
    }
}
