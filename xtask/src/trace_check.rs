//! The e2e run's check of the traces, against the same local stack as the browser test, whose
//! services log JSON lines: one purchase (sign up, sell, order, pay) through the ingress, each
//! request carrying one W3C `traceparent`, shows that trace id in the log lines of tickets,
//! orders, payments and expiration, for the effects of that purchase (the requests, and the
//! events they caused, handled by each service's listeners). And one page, the landing page in
//! a trace of its own, shows it in the lines of the client and of the API calls it made (auth's
//! current user, tickets' list).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::console;
use crate::http::{self, Answer};

/// The services whose lines must carry the purchase's trace.
const TRACED: [&str; 4] = ["tickets", "orders", "payments", "expiration"];

/// The services whose lines must carry the landing page's trace: the client, and the services
/// it calls for the page.
const PAGE_TRACED: [&str; 3] = ["client", "auth", "tickets"];

/// How long the effects of the purchase, or of the page, may take to reach every service's log.
const PATIENCE: Duration = Duration::from_secs(20);

/// Makes one purchase through the ingress on `ingress_port` in one trace, and asks for the
/// landing page in another, and checks that the lines `output` gets from the services carry
/// their ids.
pub(crate) fn run(ingress_port: u16, output: &Path) -> anyhow::Result<()> {
    let trace = trace_id();
    console::step(format_args!(
        "traces: one purchase in trace {trace} reaches the logs of {}",
        TRACED.join(", ")
    ));
    purchase(ingress_port, &traceparent(&trace))?;
    reached(output, &trace, &TRACED)?;
    let page_trace = trace_id();
    console::step(format_args!(
        "traces: the landing page in trace {page_trace} reaches the logs of {}",
        PAGE_TRACED.join(", ")
    ));
    let page_traceparent = traceparent(&page_trace);
    let headers = [("traceparent", page_traceparent.as_str())];
    let page = http::send(ingress_port, "GET", "/", &headers, None)
        .context("GET / (the landing page) was not answered")?;
    expect(page, 200, "GET / (the landing page)")?;
    reached(output, &page_trace, &PAGE_TRACED)
}

/// A `traceparent` of `trace`, from a caller whose span id is the trace's first half.
fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{}-01", &trace[..16])
}

/// Waits, at most [`PATIENCE`], until a line of each of `services` in `output` carries `trace`.
fn reached(output: &Path, trace: &str, services: &[&str]) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(output)
            .with_context(|| format!("could not read {}", output.display()))?;
        let traced = services_in_trace(&text, trace);
        let missing: Vec<&str> = services
            .iter()
            .copied()
            .filter(|service| !traced.contains(*service))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "after {PATIENCE:?}, no log line of {} carries the trace {trace} \
                 (found in: {traced:?}; the lines are in {})",
                missing.join(", "),
                output.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A trace id of this run's own: 32 hex digits, not all zero.
fn trace_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_nanos());
    format!("{:032x}", nanos ^ (u128::from(std::process::id()) << 96))
}

/// A seller lists a ticket, a buyer orders it and pays for it: each request, the sign-ups too,
/// with `traceparent`.
fn purchase(port: u16, traceparent: &str) -> anyhow::Result<()> {
    let seller = sign_up(port, traceparent, "seller")?;
    let headers = [("traceparent", traceparent), ("Cookie", seller.as_str())];
    let ticket = call(
        port,
        "POST",
        "/api/tickets",
        &headers,
        r#"{"title":"traced","price":20}"#,
    )?;
    let ticket = id_of(&ticket)?;
    let buyer = sign_up(port, traceparent, "buyer")?;
    let headers = [("traceparent", traceparent), ("Cookie", buyer.as_str())];
    // The ticket reaches orders, and the order payments, through the bus: each waits for it.
    let order_body = format!(r#"{{"ticketId":"{ticket}"}}"#);
    let order = id_of(&created_once_known(
        port,
        "/api/orders",
        &headers,
        &order_body,
    )?)?;
    let payment = format!(r#"{{"orderId":"{order}","token":"tok_visa"}}"#);
    created_once_known(port, "/api/payments", &headers, &payment)?;
    Ok(())
}

/// `POST path`, sent again while it answers 404 (what it names has not reached the service
/// yet), for at most [`PATIENCE`]; expected to answer 201.
fn created_once_known(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Answer> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = http::send(port, "POST", path, headers, Some(body))
            .with_context(|| format!("POST {path} was not answered"))?;
        if answer.status != 404 || Instant::now() > deadline {
            return expect(answer, 201, &format!("POST {path}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Signs a new `who` up; the session cookie to send back.
fn sign_up(port: u16, traceparent: &str, who: &str) -> anyhow::Result<String> {
    let email = format!("trace-{who}-{}@example.com", &traceparent[3..19]);
    let body = format!(r#"{{"email":"{email}","password":"password"}}"#);
    let answer = call(
        port,
        "POST",
        "/api/users/signup",
        &[("traceparent", traceparent)],
        &body,
    )?;
    answer
        .cookies
        .first()
        .and_then(|cookie| cookie.split(';').next())
        .map(str::to_owned)
        .context("signing up set no cookie")
}

/// `method path` with `headers` and the JSON `body`, expected to answer 201.
fn call(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Answer> {
    let answer = http::send(port, method, path, headers, Some(body))
        .with_context(|| format!("{method} {path} was not answered"))?;
    expect(answer, 201, &format!("{method} {path}"))
}

/// `answer`, if its status is `status`.
fn expect(answer: Answer, status: u16, what: &str) -> anyhow::Result<Answer> {
    if answer.status != status {
        bail!("{what} answered {}: {}", answer.status, answer.body);
    }
    Ok(answer)
}

/// The `id` of the JSON document `answer` holds.
fn id_of(answer: &Answer) -> anyhow::Result<String> {
    let document: serde_json::Value =
        serde_json::from_str(&answer.body).context("the answer is not JSON")?;
    document["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {}", answer.body))
}

/// The services (each line's `name | ` prefix) whose JSON lines carry `trace` as their
/// `trace_id`.
fn services_in_trace(text: &str, trace: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_once(" | "))
        .filter(|(_, line)| {
            serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|line| line["trace_id"].as_str() == Some(trace))
        })
        .map(|(service, _)| service.trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_in_a_trace_are_the_prefixes_of_its_json_lines() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let text = format!(
            "tickets    | {{\"message\":\"request handled\",\"trace_id\":\"{trace}\"}}\n\
             orders     | {{\"message\":\"event applied\",\"trace_id\":\"{trace}\"}}\n\
             payments   | {{\"message\":\"event applied\",\"trace_id\":\"another\"}}\n\
             expiration | not json {trace}\n\
             auth       | {{\"message\":\"listening\"}}\n"
        );
        assert_eq!(
            services_in_trace(&text, trace),
            BTreeSet::from(["orders".to_owned(), "tickets".to_owned()])
        );
    }

    #[test]
    fn a_trace_id_is_32_hex_digits_and_not_zero() {
        let trace = trace_id();
        assert_eq!(trace.len(), 32);
        assert!(trace.chars().all(|digit| digit.is_ascii_hexdigit()));
        assert_ne!(trace, "0".repeat(32));
    }
}
