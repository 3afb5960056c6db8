//! What is watched, and how: every PromQL expression of the Grafana dashboard
//! (`infra/monitoring/grafana/ticketing.json`) and of the alerts (production's PrometheusRule)
//! reads only the metrics the services export ([`METRICS`]: a renamed metric breaks this); the
//! alerts' shape; the PodMonitor scraping every service's pods on a port they have; and that
//! port in no Service, so no route leads to it.

use std::collections::BTreeSet;

use serde_yaml::Value;

use super::*;

/// The Grafana dashboard, relative to the workspace root.
const DASHBOARD: &str = "infra/monitoring/grafana/ticketing.json";

/// The metrics port of every service (`METRICS_PORT`, the container port named `metrics`).
const METRICS_PORT: u64 = 9464;

/// Every metric the services export, by name, and whether it is a histogram (read as its
/// `_bucket`, `_sum` and `_count` series). `up` is Prometheus' own, one per scraped target.
const METRICS: [(&str, bool); 33] = [
    ("up", false),
    // Every service.
    ("http_requests_total", false),
    ("http_request_duration_seconds", true),
    ("http_requests_in_flight", false),
    ("mongodb_commands_total", false),
    ("mongodb_command_duration_seconds", true),
    ("process_cpu_seconds_total", false),
    ("process_resident_memory_bytes", false),
    ("process_open_fds", false),
    ("process_threads", false),
    // The listeners and the bus.
    ("bus_events_total", false),
    ("bus_redeliveries_total", false),
    ("bus_event_handling_seconds", true),
    ("bus_event_lag_seconds", true),
    ("bus_consumer_pending_events", false),
    ("bus_consumer_unacknowledged_events", false),
    ("bus_stream_bytes", false),
    ("bus_stream_max_bytes", false),
    // The outbox relays.
    ("outbox_records_pending", false),
    ("outbox_oldest_record_seconds", false),
    ("outbox_events_published_total", false),
    ("outbox_publish_seconds", true),
    // orders.
    ("orders_created_total", false),
    ("orders_cancelled_total", false),
    ("orders_expired_total", false),
    ("orders_completed_total", false),
    // payments.
    ("payments_succeeded_total", false),
    ("payments_declined_total", false),
    ("payments_refunded_total", false),
    ("stripe_request_duration_seconds", true),
    ("stripe_errors_total", false),
    // auth.
    ("signins_total", false),
    // expiration.
    ("expiration_lateness_seconds", true),
];

/// The series names the metrics of [`METRICS`] come as.
fn known_series() -> BTreeSet<String> {
    METRICS
        .iter()
        .flat_map(|(name, histogram)| {
            let suffixes: &[&str] = if *histogram {
                &["_bucket", "_sum", "_count"]
            } else {
                &[""]
            };
            suffixes.iter().map(move |suffix| format!("{name}{suffix}"))
        })
        .collect()
}

/// Words of PromQL that are no metric: aggregations written before their `by`, binary
/// operators and modifiers.
const KEYWORDS: [&str; 23] = [
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// How many of [`KEYWORDS`], the last ones, take a label list in parentheses.
const GROUPING: usize = 6;

/// The metric names a PromQL expression reads: every identifier that is not a function (one
/// followed by `(`), a keyword, a label in `by (...)`-like lists, a label matcher (`{...}`), a
/// range or a Grafana variable (`$service`, `$__rate_interval`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut at = 0;
    // Skips from an opening character to its closing one, over quoted strings.
    let skip_to = |mut at: usize, close: char| -> usize {
        while at < chars.len() && chars[at] != close {
            if matches!(chars[at], '"' | '\'') {
                let quote = chars[at];
                at += 1;
                while at < chars.len() && chars[at] != quote {
                    at += if chars[at] == '\\' { 2 } else { 1 };
                }
            }
            at += 1;
        }
        at + 1
    };
    let word = |at: usize| -> usize {
        let mut end = at;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || ":_".contains(chars[end]))
        {
            end += 1;
        }
        end
    };
    while at < chars.len() {
        let c = chars[at];
        if matches!(c, '"' | '\'') {
            at = skip_to(at + 1, c);
        } else if c == '{' {
            at = skip_to(at + 1, '}');
        } else if c == '[' {
            at = skip_to(at + 1, ']');
        } else if c.is_ascii_digit() || c == '.' || c == '$' {
            at = word(at + 1);
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let end = word(at);
            let name: String = chars[at..end].iter().collect();
            let mut next = end;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let called = chars.get(next) == Some(&'(');
            if called && KEYWORDS[KEYWORDS.len() - GROUPING..].contains(&name.as_str()) {
                // A list of labels.
                at = skip_to(next + 1, ')');
                continue;
            }
            if !called && !KEYWORDS.contains(&name.as_str()) {
                names.insert(name);
            }
            at = end;
        } else {
            at += 1;
        }
    }
    names
}

/// Fails naming each metric `expr` reads that the services do not export.
fn assert_known_metrics(what: &str, expr: &str) {
    let known = known_series();
    let unknown: Vec<String> = metric_names(expr)
        .into_iter()
        .filter(|name| !known.contains(name))
        .collect();
    assert!(
        unknown.is_empty(),
        "{what}: {expr}\nreads {unknown:?}, which no service exports (METRICS)"
    );
}

#[test]
fn the_metric_names_of_an_expression_are_found_and_nothing_else() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",status=~"5.."}[$__rate_interval]))) * 60
           / on (service) group_left max(outbox_records_pending offset 5m) > bool 1e3
           and up{job="a}b"} == 0 unless sum without (instance) (bus_stream_bytes)"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "bus_stream_bytes",
            "http_request_duration_seconds_bucket",
            "outbox_records_pending",
            "up"
        ]
    );
    assert!(known_series().contains("stripe_request_duration_seconds_count"));
    assert!(!known_series().contains("stripe_errors_total_bucket"));
    let renamed = std::panic::catch_unwind(|| {
        assert_known_metrics("a renamed metric", "rate(http_request_total[5m])");
    });
    assert!(renamed.is_err(), "a name outside the list must fail");
}

/// Every panel of the dashboard, those inside rows too.
fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

#[test]
fn the_dashboard_reads_only_exported_metrics_from_its_prometheus_input() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|error| panic!("{error}"));
    let input = &dashboard["__inputs"][0];
    assert_eq!(input["name"], "DS_PROMETHEUS");
    assert_eq!(input["pluginId"], "prometheus");
    let panels = panels(&dashboard);
    let ids: BTreeSet<u64> = panels
        .iter()
        .map(|panel| panel["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let mut expressions = 0;
    for panel in panels.iter().filter(|panel| panel["type"] != "row") {
        let title = panel["title"].as_str().unwrap_or_default();
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title} shows nothing");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            assert_known_metrics(title, target["expr"].as_str().unwrap());
            expressions += 1;
        }
    }
    assert!(expressions > 30, "{expressions}");
    // The service picker lists the services that answer requests.
    let picker = &dashboard["templating"]["list"][0];
    assert_eq!(
        picker["query"]["query"],
        "label_values(http_requests_total, service)"
    );
}

#[test]
fn the_dashboard_shows_what_the_fleet_is_watched_by() {
    let dashboard = read(DASHBOARD);
    for metric in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "orders_completed_total",
        "bus_event_lag_seconds_bucket",
        "outbox_records_pending",
        "outbox_oldest_record_seconds",
        "bus_consumer_pending_events",
        "bus_consumer_unacknowledged_events",
        "bus_events_total{outcome=\\\"parked\\\"}",
        "bus_stream_max_bytes",
        "expiration_lateness_seconds_bucket",
        "stripe_request_duration_seconds_bucket",
        "stripe_errors_total",
        "signins_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(dashboard.contains(metric), "no panel shows {metric}");
    }
}

/// Production's PrometheusRule, as the overlay renders it.
fn alert_rule() -> &'static Value {
    prod().get("PrometheusRule", "ticketing-alerts")
}

#[test]
fn the_alerts_are_the_ones_that_matter_each_with_a_severity_and_a_description() {
    let rule = alert_rule();
    assert_eq!(text(&rule["apiVersion"]), "monitoring.coreos.com/v1");
    // The rules file the local Prometheus loads and promtool checks is this `spec`.
    let plain: Value =
        serde_yaml::from_str(&crate::prometheus::alert_rules(&root()).unwrap()).unwrap();
    assert_eq!(plain, rule["spec"]);
    let mut names = Vec::new();
    for group in items(&rule["spec"]["groups"]) {
        for alert in items(&group["rules"]) {
            let name = text(&alert["alert"]);
            assert!(!name.is_empty(), "{alert:?}: alerts only");
            names.push(name);
            assert_known_metrics(name, text(&alert["expr"]));
            assert!(
                ["critical", "warning"].contains(&text(&alert["labels"]["severity"])),
                "{name}"
            );
            for annotation in ["summary", "description"] {
                assert!(
                    !text(&alert["annotations"][annotation]).is_empty(),
                    "{name}: {annotation}"
                );
            }
        }
    }
    assert_eq!(
        names,
        [
            "ServiceDown",
            "HighErrorRate",
            "ConsumerBacklogGrowing",
            "OutboxStuck",
            "EventsParked",
            "StreamNearlyFull",
            "ExpirationLate"
        ]
    );
    // docs/observability.md says what each means and what to do.
    let docs = read("docs/observability.md");
    for name in names {
        assert!(docs.contains(&format!("### {name}")), "{name} undocumented");
    }
}

#[test]
fn the_pod_monitor_scrapes_every_service_on_its_metrics_port() {
    let monitor = prod().get("PodMonitor", "ticketing-services");
    assert_eq!(text(&monitor["apiVersion"]), "monitoring.coreos.com/v1");
    let [endpoint] = items(&monitor["spec"]["podMetricsEndpoints"]) else {
        panic!("one endpoint")
    };
    assert_eq!(text(&endpoint["path"]), "/metrics");
    let relabel = &endpoint["relabelings"][0];
    assert_eq!(
        strings(&relabel["sourceLabels"]),
        ["__meta_kubernetes_pod_label_app"]
    );
    assert_eq!(text(&relabel["targetLabel"]), "service");
    let selector = &monitor["spec"]["selector"];
    for k8s in overlays() {
        for workload in k8s.workloads() {
            let template = &workload["spec"]["template"];
            let app = text(&template["metadata"]["labels"]["app"]);
            let is_service = crate::services::SERVICES
                .iter()
                .any(|service| service.name == app);
            assert_eq!(
                selects(selector, &template["metadata"]["labels"]),
                is_service,
                "{app}"
            );
            if !is_service {
                continue;
            }
            let container = main_container(workload);
            let port = items(&container["ports"])
                .iter()
                .find(|port| text(&port["name"]) == text(&endpoint["port"]))
                .unwrap_or_else(|| panic!("{app}: no port named {:?}", endpoint["port"]));
            assert_eq!(port["containerPort"].as_u64(), Some(METRICS_PORT), "{app}");
            assert_eq!(
                environment(container)
                    .get("METRICS_PORT")
                    .map(String::as_str),
                Some("=9464"),
                "{app}"
            );
            // Plain Prometheus finds the same port by the pods' annotations.
            let annotations = &template["metadata"]["annotations"];
            assert_eq!(text(&annotations["prometheus.io/scrape"]), "true", "{app}");
            assert_eq!(text(&annotations["prometheus.io/port"]), "9464", "{app}");
            assert_eq!(
                text(&annotations["prometheus.io/path"]),
                "/metrics",
                "{app}"
            );
        }
    }
}

/// Whether `selector`'s `matchLabels` and `In` expressions select a pod with `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |key: &Value| text(&labels[text(key)]).to_owned();
    let by_labels = selector["matchLabels"]
        .as_mapping()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == text(value));
    let by_expressions = items(&selector["matchExpressions"])
        .iter()
        .all(|expression| {
            assert_eq!(text(&expression["operator"]), "In", "{expression:?}");
            strings(&expression["values"]).contains(&label(&expression["key"]).as_str())
        });
    by_labels && by_expressions
}

#[test]
fn no_service_leads_to_the_metrics_port() {
    for k8s in overlays() {
        for srv in k8s.of_kind("Service") {
            for port in items(&srv["spec"]["ports"]) {
                let what = format!(
                    "{}: Service {}",
                    k8s.overlay,
                    text(&srv["metadata"]["name"])
                );
                assert_ne!(port["port"].as_u64(), Some(METRICS_PORT), "{what}");
                assert_ne!(port["targetPort"].as_u64(), Some(METRICS_PORT), "{what}");
                assert_ne!(text(&port["targetPort"]), "metrics", "{what}");
            }
        }
    }
}

#[test]
fn promtool_reads_every_dashboard_expression() {
    let Some(promtool) = devservers::find_program("promtool") else {
        eprintln!("promtool is not installed: `cargo xtask test` installs it; skipping");
        return;
    };
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).unwrap();
    // Each expression as a recording rule, Grafana's variables given values.
    let rules: Vec<serde_json::Value> = panels(&dashboard)
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .enumerate()
        .map(|(index, target)| {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$service", ".*");
            serde_json::json!({ "record": format!("dashboard:expression_{index}"), "expr": expr })
        })
        .collect();
    let file = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    let path = std::env::temp_dir().join(format!("xtask-dashboard-{}.yaml", std::process::id()));
    std::fs::write(&path, serde_yaml::to_string(&file).unwrap()).unwrap();
    let output = std::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
