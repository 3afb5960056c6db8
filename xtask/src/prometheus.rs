//! The local stack's Prometheus: Debian's `prometheus`, on a free port of 127.0.0.1, scraping
//! every service's metrics port every [`SCRAPE_INTERVAL_SECONDS`] with a `service` label (as
//! production's PodMonitor gives it), evaluating the platform's alert rules, its data under the
//! stack's data directory.
//!
//! The alert rules have one copy, production's PrometheusRule ([`ALERT_RULES`]): its `spec` is a
//! plain Prometheus rules file, which the local Prometheus loads and `cargo xtask infra` checks
//! with `promtool check rules` ([`alert_rules`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use devservers::process::{Readiness, StartError};
use devservers::{LineSink, ServerProcess};
use serde_json::json;

/// The PrometheusRule holding the alerts, relative to the workspace root.
pub(crate) const ALERT_RULES: &str = "infra/k8s/overlays/prod/alerts.yaml";

/// How often the local Prometheus scrapes and evaluates the rules: often enough that a change
/// shows within seconds, and the first scrape comes soon after the start.
pub(crate) const SCRAPE_INTERVAL_SECONDS: u64 = 5;

/// How long Prometheus may take to listen on its port.
const START: Duration = Duration::from_secs(30);

/// The plain Prometheus rules file (YAML) of the PrometheusRule in [`ALERT_RULES`]: its `spec`.
pub(crate) fn alert_rules(root: &Path) -> anyhow::Result<String> {
    let path = root.join(ALERT_RULES);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let rule: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("{ALERT_RULES} is not YAML"))?;
    if rule["kind"].as_str() != Some("PrometheusRule") || !rule["spec"]["groups"].is_sequence() {
        bail!("{ALERT_RULES} should be one PrometheusRule with `spec.groups`");
    }
    serde_yaml::to_string(&rule["spec"]).context("writing the rule groups as YAML")
}

/// Prometheus' configuration: one scrape target per service (`targets`: name and metrics port),
/// labelled `service: <name>`, Prometheus itself on `own_port`, and the rules in `rules_file`.
pub(crate) fn config(targets: &BTreeMap<&str, u16>, own_port: u16, rules_file: &Path) -> String {
    let interval = format!("{SCRAPE_INTERVAL_SECONDS}s");
    let services: Vec<serde_json::Value> = targets
        .iter()
        .map(|(service, port)| {
            json!({ "targets": [format!("127.0.0.1:{port}")], "labels": { "service": service } })
        })
        .collect();
    let config = json!({
        "global": { "scrape_interval": interval, "evaluation_interval": interval },
        "rule_files": [rules_file.display().to_string()],
        "scrape_configs": [
            { "job_name": "ticketing", "static_configs": services },
            {
                "job_name": "prometheus",
                "static_configs": [{ "targets": [format!("127.0.0.1:{own_port}")] }],
            },
        ],
    });
    // A JSON value always serializes as YAML.
    serde_yaml::to_string(&config).unwrap_or_default()
}

/// Where a local Prometheus runs, and what it scrapes.
#[derive(Debug)]
pub(crate) struct Settings<'a> {
    /// Its directory: the configuration, the rules, and the data (`data/`).
    pub(crate) dir: &'a Path,
    /// The workspace root, where the alert rules are.
    pub(crate) root: &'a Path,
    /// Each service's name and metrics port.
    pub(crate) targets: &'a BTreeMap<&'a str, u16>,
}

/// Writes the configuration and the rules into `settings.dir` and starts `program` on a free
/// port of 127.0.0.1.
pub(crate) fn start(
    program: &Path,
    settings: &Settings<'_>,
    sink: &LineSink,
) -> anyhow::Result<ServerProcess> {
    let dir = settings.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let rules = dir.join("alert-rules.yaml");
    std::fs::write(&rules, alert_rules(settings.root)?)
        .with_context(|| format!("could not write {}", rules.display()))?;
    let conf = dir.join("prometheus.yml");
    // Another process may take the free port in the meantime: then others are tried.
    let process = ServerProcess::start_on_port(0, 3, |port| {
        std::fs::write(&conf, config(settings.targets, port, &rules)).map_err(|source| {
            StartError::Spawn {
                program: format!("writing {}", conf.display()),
                source,
            }
        })?;
        let mut command = Command::new(program);
        command
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // A local stack's history: a few days are plenty, and keep the directory small.
            .arg("--storage.tsdb.retention.time=3d")
            // Its start-up chatter would drown the services' lines; warnings and errors show.
            .arg("--log.level=warn");
        ServerProcess::start(
            "prometheus",
            command,
            Readiness::Tcp(port),
            sink.clone(),
            START,
        )
    })?;
    Ok(process)
}

/// The result of the instant query `promql` on the Prometheus at `127.0.0.1:port`: each
/// series' labels and value.
pub(crate) fn query(
    port: u16,
    promql: &str,
) -> anyhow::Result<Vec<(BTreeMap<String, String>, String)>> {
    let data = api_get(
        port,
        &format!("/api/v1/query?query={}", url_encoded(promql)),
    )?;
    let series = data["result"].as_array().cloned().unwrap_or_default();
    Ok(series
        .iter()
        .map(|series| {
            let labels = series["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), text(value)))
                .collect();
            (labels, text(&series["value"][1]))
        })
        .collect())
}

/// One rule Prometheus evaluates, as its API reports it.
#[derive(Debug)]
pub(crate) struct Rule {
    /// The alert's (or recorded series') name.
    pub(crate) name: String,
    /// `ok`, `err`, or `unknown` before its first evaluation.
    pub(crate) health: String,
    /// Why its last evaluation failed, when it did.
    pub(crate) last_error: String,
}

/// Every rule the Prometheus at `127.0.0.1:port` evaluates, with its health.
pub(crate) fn rules(port: u16) -> anyhow::Result<Vec<Rule>> {
    let data = api_get(port, "/api/v1/rules")?;
    let groups = data["groups"].as_array().cloned().unwrap_or_default();
    Ok(groups
        .iter()
        .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
        .map(|rule| Rule {
            name: text(&rule["name"]),
            health: text(&rule["health"]),
            last_error: text(&rule["lastError"]),
        })
        .collect())
}

/// `GET path` of Prometheus' HTTP API: the answer's `data`.
fn api_get(port: u16, path: &str) -> anyhow::Result<serde_json::Value> {
    let (status, body) = crate::http::get(port, path)
        .with_context(|| format!("Prometheus did not answer GET {path}"))?;
    let mut answer: serde_json::Value = serde_json::from_str(&body)
        .with_context(|| format!("Prometheus answered {status} to GET {path} with no JSON"))?;
    if status != 200 || answer["status"] != "success" {
        bail!("Prometheus answered {status} to GET {path}: {body}");
    }
    Ok(answer["data"].take())
}

/// A JSON string's text, or "" for anything else.
fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// `text` percent-encoded for a URL's query: everything but RFC 3986's unreserved characters.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    #[test]
    fn every_service_is_a_target_labelled_with_its_name() {
        let targets = BTreeMap::from([("auth", 4001), ("orders", 4002)]);
        let config: serde_yaml::Value =
            serde_yaml::from_str(&config(&targets, 9090, Path::new("/p/rules.yaml"))).unwrap();
        assert_eq!(config["global"]["scrape_interval"], "5s");
        assert_eq!(config["rule_files"][0], "/p/rules.yaml");
        let services = &config["scrape_configs"][0]["static_configs"];
        assert_eq!(services[0]["targets"][0], "127.0.0.1:4001");
        assert_eq!(services[0]["labels"]["service"], "auth");
        assert_eq!(services[1]["targets"][0], "127.0.0.1:4002");
        assert_eq!(services[1]["labels"]["service"], "orders");
        let own = &config["scrape_configs"][1]["static_configs"][0];
        assert_eq!(own["targets"][0], "127.0.0.1:9090");
    }

    #[test]
    fn the_rules_file_is_the_prometheus_rules_spec() {
        let rules: serde_yaml::Value =
            serde_yaml::from_str(&alert_rules(workspace_root()).unwrap()).unwrap();
        let groups = rules["groups"].as_sequence().unwrap();
        assert!(!groups.is_empty());
        assert!(groups.iter().all(|group| group["rules"].is_sequence()));
        assert!(rules["apiVersion"].is_null() && rules["kind"].is_null());
    }

    #[test]
    fn a_query_is_percent_encoded() {
        assert_eq!(url_encoded("up"), "up");
        assert_eq!(
            url_encoded(r#"sum by (le) (x{a="b"})"#),
            "sum%20by%20%28le%29%20%28x%7Ba%3D%22b%22%7D%29"
        );
    }

    /// A stand-in service on a free port answering every request with one metric, forever.
    fn metrics_stand_in() -> u16 {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = [0; 4096];
                let _ = stream.read(&mut request);
                let body = "# TYPE http_requests_total counter\nhttp_requests_total 1\n";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    }

    #[test]
    fn prometheus_scrapes_its_targets_and_evaluates_the_alerts() {
        let Some(program) = devservers::find_program("prometheus") else {
            eprintln!("prometheus is not installed: `cargo xtask up` installs it; skipping");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-prometheus-run-{}", std::process::id()));
        let targets = BTreeMap::from([("auth", metrics_stand_in())]);
        let settings = Settings {
            dir: &dir,
            root: workspace_root(),
            targets: &targets,
        };
        let sink: LineSink = std::sync::Arc::new(|line: &str| eprintln!("prometheus | {line}"));
        let mut process = start(&program, &settings, &sink).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let (up, rules) = loop {
            let up = query(process.port(), r#"up{service="auth"}"#).unwrap_or_default();
            let rules = rules(process.port()).unwrap_or_default();
            let evaluated = !rules.is_empty() && rules.iter().all(|rule| rule.health == "ok");
            if (up.len() == 1 && evaluated) || std::time::Instant::now() > deadline {
                break (up, rules);
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        process.stop(Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(up.len(), 1, "{up:?}");
        assert_eq!(up[0].0["job"], "ticketing");
        assert_eq!(up[0].1, "1");
        assert!(rules.len() > 5, "{rules:?}");
        assert!(rules.iter().all(|rule| rule.health == "ok"), "{rules:?}");
    }

    #[test]
    fn prometheus_accepts_the_generated_configuration() {
        let Some(promtool) = devservers::find_program("promtool") else {
            eprintln!("promtool is not installed: `cargo xtask test` installs it; skipping");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-prometheus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = dir.join("alert-rules.yaml");
        std::fs::write(&rules, alert_rules(workspace_root()).unwrap()).unwrap();
        let conf = dir.join("prometheus.yml");
        let targets = BTreeMap::from([("auth", 4001), ("client", 4002)]);
        std::fs::write(&conf, config(&targets, 9090, &rules)).unwrap();
        let output = Command::new(promtool)
            .arg("check")
            .arg("config")
            .arg(&conf)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
