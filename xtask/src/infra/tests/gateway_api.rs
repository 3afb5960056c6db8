//! Production's way in: the Gateway on the production host, HTTPS with a Let's Encrypt
//! certificate from cert-manager, HSTS, and the settings that follow from it. The routes
//! themselves are checked against the route table by [`super::route_parity`]; the schema of each
//! object by `cargo xtask infra`, which does not check the CEL rules of the CRDs: those the
//! manifests rely on are checked here.

use std::collections::BTreeSet;

use serde_yaml::Value;

use super::*;

/// The Gateway every route attaches to.
fn gateway() -> &'static Value {
    prod().get("Gateway", "ticketing-gateway")
}

/// The production site's host, from the Gateway's HTTPS listener.
fn prod_host() -> &'static str {
    text(&listener("https")["hostname"])
}

/// The Gateway's listener `name`.
fn listener(name: &str) -> &'static Value {
    items(&gateway()["spec"]["listeners"])
        .iter()
        .find(|listener| text(&listener["name"]) == name)
        .unwrap_or_else(|| panic!("no listener {name}"))
}

/// The annotation asking cert-manager for the certificates of the HTTPS listeners.
const CLUSTER_ISSUER: &str = "cert-manager.io/cluster-issuer";

#[test]
fn production_serves_https_on_its_host_with_a_lets_encrypt_certificate() {
    let gateway = gateway();
    assert_eq!(text(&gateway["apiVersion"]), "gateway.networking.k8s.io/v1");
    // DigitalOcean's managed Cilium (docs/deploy.md).
    assert_eq!(text(&gateway["spec"]["gatewayClassName"]), "cilium");
    let host = prod_host();
    assert!(host.contains('.') && host != "ticketing.dev", "{host}");

    let listeners = items(&gateway["spec"]["listeners"]);
    let described: Vec<(&str, &str, u64, &str)> = listeners
        .iter()
        .map(|listener| {
            (
                text(&listener["name"]),
                text(&listener["protocol"]),
                listener["port"].as_u64().unwrap_or(0),
                text(&listener["hostname"]),
            )
        })
        .collect();
    assert_eq!(
        described,
        [("http", "HTTP", 80, host), ("https", "HTTPS", 443, host)]
    );
    // The CRD's CEL rules: names unique, port, protocol and hostname unique together.
    let names: BTreeSet<&str> = described.iter().map(|listener| listener.0).collect();
    let bindings: BTreeSet<(&str, u64, &str)> = described
        .iter()
        .map(|(_, protocol, port, host)| (*protocol, *port, *host))
        .collect();
    assert_eq!(
        (names.len(), bindings.len()),
        (listeners.len(), listeners.len())
    );
    for listener in listeners {
        // Routes of this namespace only.
        assert_eq!(
            text(&listener["allowedRoutes"]["namespaces"]["from"]),
            "Same"
        );
    }
    // CEL: no TLS on plain HTTP; HTTPS ends TLS here.
    assert!(listener("http")["tls"].is_null());
    let tls = &listener("https")["tls"];
    assert_eq!(text(&tls["mode"]), "Terminate");
    let [certificate] = items(&tls["certificateRefs"]) else {
        panic!("one certificate")
    };
    assert_eq!(text(&certificate["kind"]), "Secret");
    assert!(
        certificate["namespace"].is_null(),
        "the Gateway's own namespace"
    );
    assert_eq!(text(&certificate["name"]), "ticketing-tls");

    // cert-manager makes it: the Gateway names the issuer, which answers HTTP-01 challenges
    // with routes on the Gateway's HTTP listener.
    let issuer = prod().get(
        "ClusterIssuer",
        text(&gateway["metadata"]["annotations"][CLUSTER_ISSUER]),
    );
    assert_eq!(text(&issuer["apiVersion"]), "cert-manager.io/v1");
    let acme = &issuer["spec"]["acme"];
    assert_eq!(
        text(&acme["server"]),
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    assert!(text(&acme["email"]).contains('@'));
    assert!(!text(&acme["privateKeySecretRef"]["name"]).is_empty());
    let [solver] = items(&acme["solvers"]) else {
        panic!("one solver")
    };
    let [parent] = items(&solver["http01"]["gatewayHTTPRoute"]["parentRefs"]) else {
        panic!("the solver's routes attach to one parent")
    };
    assert_eq!(text(&parent["kind"]), "Gateway");
    assert_eq!(text(&parent["group"]), "gateway.networking.k8s.io");
    assert_eq!(text(&parent["name"]), text(&gateway["metadata"]["name"]));
    // A ClusterIssuer has no namespace: it names the Gateway's, where the manifests go.
    assert_eq!(text(&parent["namespace"]), "default");
    assert_eq!(text(&parent["sectionName"]), "http");
}

/// How long the services let a request take by default (`REQUEST_TIMEOUT_SECONDS`).
const SERVICE_REQUEST_SECONDS: u64 = 30;

/// A Gateway API duration in whole seconds (`35s`, `1m`, `1m30s`).
fn seconds(duration: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    for c in duration.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = std::mem::take(&mut number).parse().unwrap();
        total += match c {
            'h' => value * 3600,
            'm' => value * 60,
            's' => value,
            other => panic!("{duration}: unit {other}"),
        };
    }
    assert!(number.is_empty(), "{duration}: no unit");
    total
}

#[test]
fn every_https_answer_carries_hsts_and_a_request_outlasts_the_services_own_timeout() {
    assert_eq!(seconds("1m30s"), 90);
    assert_eq!(seconds("35s"), 35);
    let route = prod().get("HTTPRoute", "ticketing");
    for rule in items(&route["spec"]["rules"]) {
        let backend = text(&rule["backendRefs"][0]["name"]);
        let headers: Vec<&Value> = items(&rule["filters"])
            .iter()
            .filter(|filter| text(&filter["type"]) == "ResponseHeaderModifier")
            .flat_map(|filter| items(&filter["responseHeaderModifier"]["set"]))
            .collect();
        let [hsts] = headers[..] else {
            panic!("{backend}: one header set, HSTS")
        };
        assert_eq!(text(&hsts["name"]), "Strict-Transport-Security");
        let value = text(&hsts["value"]);
        let max_age: u64 = value
            .split(';')
            .find_map(|part| part.trim().strip_prefix("max-age="))
            .and_then(|age| age.parse().ok())
            .unwrap_or(0);
        assert!(max_age >= 31_536_000, "{backend}: a year at least: {value}");
        assert!(value.contains("includeSubDomains"), "{backend}: {value}");
        // The services answer a slow request themselves (503, in their envelope) before the
        // Gateway gives up on it.
        let timeout = seconds(text(&rule["timeouts"]["request"]));
        assert!(timeout > SERVICE_REQUEST_SECONDS, "{backend}: {timeout}s");
        assert!(
            rule["timeouts"]["backendRequest"].is_null(),
            "{backend}: the CRD's rule: backendRequest <= request"
        );
    }
}

#[test]
fn production_sets_secure_cookies_and_renders_through_the_gateway() {
    let value = |manifests: &Manifests, key: &str| {
        text(&manifests.get("ConfigMap", "ticketing-config")["data"][key]).to_owned()
    };
    assert_eq!(value(dev(), "COOKIE_SECURE"), "false");
    assert_eq!(value(prod(), "COOKIE_SECURE"), "true");
    assert_eq!(
        value(dev(), "API_BASE_URL"),
        "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local"
    );
    assert_eq!(
        value(prod(), "API_BASE_URL"),
        format!("https://{}", prod_host())
    );
    for manifests in overlays() {
        for range in value(manifests, "TRUSTED_FORWARDERS").split(',') {
            let (address, bits) = range.trim().split_once('/').unwrap_or((range, "32"));
            assert!(
                address.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok(),
                "{}: {range}",
                manifests.overlay
            );
        }
    }
}

#[test]
fn the_documentation_names_every_file_that_holds_the_production_host() {
    let docs = read("docs/deploy.md");
    let host = prod_host();
    let mut files = Vec::new();
    yaml_files(
        &root(),
        Path::new(&kustomize::overlay_dir("prod")),
        true,
        &mut files,
    )
    .unwrap();
    let holding: Vec<String> = files
        .iter()
        .map(|file| file.to_string_lossy().into_owned())
        .filter(|file| read(file).contains(host))
        .collect();
    assert!(holding.len() >= 3, "{holding:?}");
    for file in holding {
        assert!(
            docs.contains(&file),
            "docs/deploy.md does not say to change {file}"
        );
    }
}
