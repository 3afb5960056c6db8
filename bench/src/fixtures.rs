//! Results as a run would record them, for the tests of the report and the scenarios.

use crate::scenarios::ceilings::{Scrypt, Storm};
use crate::scenarios::http::{HttpResult, Via};
use crate::wrk::Output;

/// A wrk run of `endpoint` with these figures.
pub(crate) fn http(
    endpoint: &str,
    via: Via,
    connections: u32,
    per_second: f64,
    p99_us: u64,
) -> HttpResult {
    HttpResult {
        endpoint: endpoint.to_owned(),
        via,
        connections,
        per_second,
        wrk: Output {
            requests: 1000,
            duration_us: 5_000_000,
            connect_errors: 0,
            read_errors: 0,
            write_errors: 0,
            status_errors: 0,
            timeouts: 0,
            p50_us: p99_us / 2,
            p90_us: p99_us,
            p99_us,
            max_us: p99_us * 2,
            exhausted: 0,
        },
        command: format!("wrk --connections={connections} http://127.0.0.1:1{endpoint}"),
    }
}

/// A scrypt ceiling of `per_second` on two cores, every core together at 90% of it.
pub(crate) fn ceiling(per_second: f64) -> Scrypt {
    Scrypt {
        hash_ms: 2000.0 / per_second,
        cores: 2,
        per_second,
        all_cores_per_second: per_second * 0.9,
    }
}

/// A storm of `signins` a second, `currentuser` at 750 a second meanwhile.
pub(crate) fn storm(signins: f64, currentuser_p99_us: u64) -> Storm {
    Storm {
        signin: http("POST /api/users/signin", Via::Direct, 16, signins, 400_000),
        currentuser: http(
            "GET /api/users/currentuser",
            Via::Direct,
            8,
            750.0,
            currentuser_p99_us,
        ),
        cpu: Vec::new(),
    }
}
