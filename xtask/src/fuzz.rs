//! The API fuzzer, the last step of `cargo xtask test`'s browser run: schemathesis (from PyPI,
//! pinned with the other Python tools in [`crate::infra`]) reads each HTTP service's OpenAPI
//! document from the running stack and sends every operation generated requests, valid and
//! invalid, signed in as a user of its own. The run fails on any answer that breaks one of
//! [`CHECKS`]: a 5xx, a status or content type or header the document does not give, a body
//! that does not match its schema (every error in the envelope), invalid data accepted, a
//! protected operation answering without a session.
//!
//! Each service is fuzzed on its own port rather than through nginx, which answers `TRACE`
//! itself (405, without the `Allow` header RFC 9110 asks for) before any service sees it.
//! Auth goes last: fuzzing `POST /api/users/signout` with the session revokes it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};
use devservers::routes::ROUTES;

use crate::console;
use crate::infra::Venv;
use crate::up::Stack;

/// The fuzzer's configuration, from the workspace's root: how it signs in.
const CONFIG: &str = "xtask/schemathesis.toml";

/// Generated requests per operation, in each phase: enough to reach every refusal of a body,
/// few enough for the whole fuzz to take seconds.
const MAX_EXAMPLES: &str = "30";

/// The seed of the generated requests: a failure is the same on every run, and is reproduced
/// with the command the run prints.
const SEED: &str = "1";

/// What every answer must satisfy. Two of schemathesis' checks are left out, each because the
/// platform's rules say otherwise:
/// - `positive_data_acceptance` wants 2xx for every schema-valid request, but a schema cannot
///   know that a well-formed ticket id names no ticket, or that a ticket is reserved: those are
///   4xx by the rules, and every 4xx the document lists is checked by the others;
/// - `unsupported_method` wants 405 for a method the document does not list, but the services
///   answer 404 "Not Found" in the envelope for a known path with a wrong method, as the
///   original did (docs/decisions.md).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      negative_data_rejection,missing_required_header,ignored_auth,\
                      use_after_free,ensure_resource_availability";

/// Fuzzes every service of `stack` that has a document; whether every check held.
pub(crate) fn run(root: &Path, target: &Path, stack: &Stack) -> anyhow::Result<bool> {
    let venv = Venv::ready(target)?;
    let workdir = target.join("fuzz");
    std::fs::create_dir_all(&workdir)
        .with_context(|| format!("could not create {}", workdir.display()))?;
    let port_of = |name: &str| {
        stack
            .services()
            .iter()
            .find(|service| service.name() == name)
            .map(|service| service.port())
    };
    let auth = port_of("auth").context("the stack runs no auth service to sign in with")?;
    let mut documented: Vec<(&str, &str)> = ROUTES
        .iter()
        .filter(|route| !route.prefix().is_empty())
        .map(|route| (route.service, route.prefix()))
        .collect();
    documented.sort_by_key(|(service, _)| *service == "auth");
    let mut passed = true;
    for (service, prefix) in documented {
        let port = port_of(service).with_context(|| format!("the stack runs no {service}"))?;
        let session = sign_up(auth, service)?;
        let document = format!("http://127.0.0.1:{port}{prefix}/docs/openapi.json");
        console::step(format_args!("fuzzing {service}: {document}"));
        let status = Command::new(venv.bin("schemathesis"))
            .current_dir(&workdir)
            .arg("--config-file")
            .arg(root.join(CONFIG))
            .args([
                "run",
                &document,
                "--url",
                &format!("http://127.0.0.1:{port}"),
            ])
            .env("FUZZ_SESSION", session)
            .args([
                "--checks",
                CHECKS,
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
            ])
            // One worker: schemathesis' schema walker is not thread-safe on Python 3.11 (runs with two
            // died of `SystemError: AST constructor recursion depth mismatch`).
            .args([
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
            ])
            .status()
            .context("could not run schemathesis")?;
        if !status.success() {
            console::detail(format_args!(
                "the fuzzer found failures in {service} ({status})"
            ));
            passed = false;
        }
    }
    Ok(passed)
}

/// The email of the user fuzzing `service`; auth's is an admin of the stack
/// ([`ADMIN_EMAIL`]), so banning is fuzzed past its 401.
fn fuzzer_email(service: &str) -> String {
    format!("fuzz-{service}@example.com")
}

/// The admin the stack the fuzzer runs against must name in `ADMIN_EMAILS`.
pub(crate) const ADMIN_EMAIL: &str = "fuzz-auth@example.com";

/// Signs up a new user on auth's `port`, for fuzzing `service`; the value of its session
/// cookie.
fn sign_up(port: u16, service: &str) -> anyhow::Result<String> {
    let body = format!(
        r#"{{"email":"{}","password":"fuzzing"}}"#,
        fuzzer_email(service)
    );
    let (status, cookies) = crate::http::post_json(port, "/api/users/signup", &body)
        .context("could not sign up the fuzzer's user")?;
    let session = cookies
        .iter()
        .filter_map(|cookie| cookie.split(';').next()?.strip_prefix("session="))
        .next();
    match session {
        Some(session) if status == 201 => Ok(session.to_owned()),
        _ => bail!("signing up the fuzzer's user answered {status}, with no session cookie"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_of_the_stack_is_the_user_fuzzing_auth() {
        assert_eq!(fuzzer_email("auth"), ADMIN_EMAIL);
    }
}
