//! Running wrk: one Lua script per request shape, each ending in a `done()` that prints the
//! run's figures as one JSON line, which [`parse`] reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// The prefix of the line `done()` prints.
const MARKER: &str = "WRK_JSON ";

/// Prints the summary as JSON. Latencies are in microseconds; `exhausted` counts threads that
/// ran out of ids (see [`Body::EachTicket`]).
const DONE: &str = r#"
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local exhausted = 0
  for _, thread in ipairs(threads) do
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    exhausted))
end
"#;

/// What each request sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A `GET` without a body.
    Get,
    /// A `POST` of this JSON body, the same every time.
    Post(String),
    /// A `POST` of `{"ticketId": ...}`, a different ticket from this file (one id a line) each
    /// time; a thread that runs out stops.
    EachTicket(PathBuf),
}

/// The Lua script for `body` with `threads` wrk threads.
pub fn script(body: &Body, threads: u32) -> String {
    let mut lua = String::from("-- written by ticketing-bench\n");
    lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
    match body {
        Body::Get => lua.push_str("wrk.method = \"GET\"\n"),
        Body::Post(json) => {
            lua.push_str("wrk.method = \"POST\"\n");
            lua.push_str(&format!("wrk.body = {}\n", lua_string(json)));
        }
        Body::EachTicket(ids) => {
            lua.push_str(&format!(
                r#"local ids_file = {file}
local ids = {{}}
local next_id, step
function init(args)
  for line in io.lines(ids_file) do
    if #line > 0 then table.insert(ids, line) end
  end
  step = {threads}
  next_id = tid + 1
  exhausted = 0
end
function request()
  local id = ids[next_id]
  if id == nil then
    exhausted = 1
    wrk.thread:stop()
    id = ids[#ids]
  end
  next_id = next_id + step
  return wrk.format("POST", nil, nil, '{{"ticketId":"' .. id .. '"}}')
end
"#,
                file = lua_string(&ids.to_string_lossy()),
            ));
        }
    }
    lua.push_str(DONE);
    lua
}

/// [`script`], each connection waiting `delay_ms` after each response before its next request:
/// a load bounded to about `connections × 1000 / delay_ms` requests a second.
pub fn paced_script(body: &Body, threads: u32, delay_ms: u32) -> String {
    let mut lua = script(body, threads);
    lua.push_str(&format!("function delay()\n  return {delay_ms}\nend\n"));
    lua
}

/// A Lua long string holding `text` verbatim.
fn lua_string(text: &str) -> String {
    let mut level = 0;
    while text.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let equals = "=".repeat(level);
    format!("[{equals}[{text}]{equals}]")
}

/// One wrk run.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// The full URL.
    pub url: String,
    /// Open connections.
    pub connections: u32,
    /// How long.
    pub duration: Duration,
    /// `Cookie: session=...`, for the routes that need a user.
    pub cookie: Option<&'a str>,
    /// What each request sends.
    pub body: Body,
}

/// What one run measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// Requests completed, whatever their status.
    pub requests: u64,
    /// How long the run lasted, in microseconds.
    pub duration_us: u64,
    /// Socket errors.
    pub connect_errors: u64,
    /// Socket errors.
    pub read_errors: u64,
    /// Socket errors.
    pub write_errors: u64,
    /// Responses with a status of 400 or more.
    pub status_errors: u64,
    /// Requests that got no answer in time.
    pub timeouts: u64,
    /// Latency percentiles, in microseconds.
    pub p50_us: u64,
    /// Latency percentiles, in microseconds.
    pub p90_us: u64,
    /// Latency percentiles, in microseconds.
    pub p99_us: u64,
    /// The slowest request, in microseconds.
    pub max_us: u64,
    /// Threads that ran out of ticket ids before the end (then `requests` is a lower bound).
    pub exhausted: u64,
}

impl Output {
    /// Successful responses per second.
    pub fn ok_per_second(&self) -> f64 {
        let ok = self.requests.saturating_sub(self.status_errors);
        ok as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }

    /// Every error: socket errors, error statuses and time-outs.
    pub fn errors(&self) -> u64 {
        self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.status_errors
            + self.timeouts
    }
}

/// The wrk threads for `connections`: at most the machine's cores, at most one per connection.
pub fn threads(connections: u32) -> u32 {
    let cores = std::thread::available_parallelism()
        .map(|cores| u32::try_from(cores.get()).unwrap_or(1))
        .unwrap_or(1);
    cores.min(connections).max(1)
}

/// The arguments of `wrk` for `run`, its script at `script`.
pub fn arguments(run: &Run<'_>, script: &Path) -> Vec<String> {
    let mut args = vec![
        format!("--threads={}", threads(run.connections)),
        format!("--connections={}", run.connections),
        format!("--duration={}s", run.duration.as_secs().max(1)),
        "--timeout=10s".to_owned(),
        format!("--script={}", script.display()),
    ];
    if let Some(cookie) = run.cookie {
        args.push(format!("--header=Cookie: {cookie}"));
    }
    args.push(run.url.clone());
    args
}

/// The command line of `run` as the report shows it: the script by name, the cookie elided.
pub fn display_command(run: &Run<'_>, script_name: &str) -> String {
    let args = arguments(run, Path::new(script_name));
    let shown: Vec<String> = args
        .into_iter()
        .map(|arg| match arg.strip_prefix("--header=Cookie: ") {
            Some(_) => "'--header=Cookie: session=…'".to_owned(),
            None => arg,
        })
        .collect();
    format!("wrk {}", shown.join(" "))
}

/// Runs wrk (`program`) for `run`, its script written under `dir` as `name.lua`.
pub async fn run(program: &Path, dir: &Path, name: &str, run: &Run<'_>) -> anyhow::Result<Output> {
    let lua = script(&run.body, threads(run.connections));
    run_script(program, dir, name, run, &lua).await
}

/// [`run()`] with each connection pausing `delay_ms` between requests (see [`paced_script`]).
pub async fn run_paced(
    program: &Path,
    dir: &Path,
    name: &str,
    run: &Run<'_>,
    delay_ms: u32,
) -> anyhow::Result<Output> {
    let lua = paced_script(&run.body, threads(run.connections), delay_ms);
    run_script(program, dir, name, run, &lua).await
}

async fn run_script(
    program: &Path,
    dir: &Path,
    name: &str,
    run: &Run<'_>,
    lua: &str,
) -> anyhow::Result<Output> {
    let script_path = dir.join(format!("{name}.lua"));
    std::fs::write(&script_path, lua)
        .with_context(|| format!("could not write {}", script_path.display()))?;
    let output = tokio::process::Command::new(program)
        .args(arguments(run, &script_path))
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("could not run {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&stdout)
}

/// Reads the JSON line `done()` printed among wrk's own output.
pub fn parse(stdout: &str) -> anyhow::Result<Output> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(MARKER))
        .with_context(|| format!("wrk printed no summary:\n{stdout}"))?;
    serde_json::from_str(line).with_context(|| format!("unreadable wrk summary `{line}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_STDOUT: &str = "Running 5s test @ http://127.0.0.1:4000/api/users/currentuser
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.00us  100.00us   4.00ms   90.00%
  100000 requests in 5.00s, 20.00MB read
Requests/sec:  20000.00
Transfer/sec:      4.00MB
WRK_JSON {\"requests\":100000,\"duration_us\":5000000,\"connect_errors\":0,\"read_errors\":0,\"write_errors\":0,\"status_errors\":10,\"timeouts\":1,\"p50_us\":480,\"p90_us\":700,\"p99_us\":1500,\"max_us\":4000,\"exhausted\":0}
";

    #[test]
    fn parses_the_summary_line() {
        let output = parse(WRK_STDOUT).unwrap();
        assert_eq!(output.requests, 100_000);
        assert_eq!(output.p99_us, 1500);
        assert_eq!(output.errors(), 11);
        assert!((output.ok_per_second() - 19_998.0).abs() < 1e-6);
        assert!(parse("Running 5s test\n").is_err());
    }

    #[test]
    fn scripts_send_the_right_requests() {
        let get = script(&Body::Get, 2);
        assert!(get.contains("wrk.method = \"GET\"") && get.contains("function done("));
        let post = script(&Body::Post(r#"{"a":"]]"}"#.to_owned()), 2);
        assert!(post.contains(r#"wrk.body = [=[{"a":"]]"}]=]"#), "{post}");
        let each = script(&Body::EachTicket("/tmp/ids.txt".into()), 2);
        assert!(each.contains("local ids_file = [[/tmp/ids.txt]]"));
        assert!(each.contains("step = 2") && each.contains("wrk.thread:stop()"));
        assert!(paced_script(&Body::Get, 1, 20).ends_with("function delay()\n  return 20\nend\n"));
    }

    #[test]
    fn the_shown_command_hides_the_cookie_and_the_scripts_directory() {
        let run = Run {
            url: "http://127.0.0.1:4000/api/orders".to_owned(),
            connections: 64,
            duration: Duration::from_secs(5),
            cookie: Some("session=secret"),
            body: Body::Get,
        };
        let shown = display_command(&run, "orders.lua");
        assert!(shown.starts_with("wrk --threads="), "{shown}");
        assert!(shown.contains("--connections=64 --duration=5s --timeout=10s --script=orders.lua"));
        assert!(!shown.contains("secret"));
        assert!(shown.ends_with(" http://127.0.0.1:4000/api/orders"));
        assert_eq!(threads(1), 1);
    }
}
