//! One route table, three routers: the dev Ingress (ingress-nginx), production's HTTPRoutes (the
//! Gateway) and `cargo xtask up`'s nginx each route exactly as `devservers::routes::ROUTES`
//! says, and so as each other: the same prefixes to the same services. Then the paths a browser
//! or the API's clients send reach the same service through the Ingress and through the Gateway,
//! with the two differences their matching rules make listed.

use std::collections::BTreeMap;

use devservers::routes::{ROUTES, Route, service_for};

use super::*;
use crate::nginx;

/// Each route as a router says it: the path prefix it takes (`/` for the catch-all) and the
/// Kubernetes Service (or, for nginx, the service) that answers.
type Routing = Vec<(String, String)>;

/// The prefix of an Ingress or nginx regex, which the table writes `<prefix>/?(.*)`.
fn prefix_of(pattern: &str) -> String {
    let route = ROUTES
        .iter()
        .find(|route| route.pattern == pattern)
        .unwrap_or_else(|| panic!("{pattern} is no pattern of the table"));
    route.probe_path().to_owned()
}

fn cluster_service(route: &Route) -> String {
    format!("{}-srv", route.service)
}

fn from_table() -> Routing {
    ROUTES
        .iter()
        .map(|route| (route.probe_path().to_owned(), cluster_service(route)))
        .collect()
}

/// The dev Ingress `ingress-service`, in its order.
fn from_ingress() -> Routing {
    let ingress = dev().get("Ingress", "ingress-service");
    let [rule] = items(&ingress["spec"]["rules"]) else {
        panic!("one rule")
    };
    items(&rule["http"]["paths"])
        .iter()
        .map(|path| {
            (
                prefix_of(text(&path["path"])),
                text(&path["backend"]["service"]["name"]).to_owned(),
            )
        })
        .collect()
}

/// The HTTPRoute `ticketing` on the Gateway's HTTPS listener, in its order.
fn from_httproutes() -> Routing {
    let route = prod().get("HTTPRoute", "ticketing");
    items(&route["spec"]["rules"])
        .iter()
        .map(|rule| {
            let [matched] = items(&rule["matches"]) else {
                panic!("{rule:?}: one match")
            };
            assert_eq!(text(&matched["path"]["type"]), "PathPrefix", "{rule:?}");
            let [backend] = items(&rule["backendRefs"]) else {
                panic!("{rule:?}: one backend")
            };
            assert_eq!(backend["port"].as_u64(), Some(3000), "{rule:?}");
            (
                text(&matched["path"]["value"]).to_owned(),
                text(&backend["name"]).to_owned(),
            )
        })
        .collect()
}

/// The nginx of `cargo xtask up`, generated with every service running, in its order.
fn from_nginx() -> Routing {
    let ports: BTreeMap<&str, u16> = crate::services::SERVICES
        .iter()
        .zip(4001..)
        .map(|(service, port)| (service.name, port))
        .collect();
    let conf = nginx::config(&nginx::Settings {
        port: 8080,
        dir: Path::new("/nginx"),
        upstreams: &ports,
    });
    let mut routing = Vec::new();
    for block in conf.split("location ~* \"^").skip(1) {
        let (pattern, body) = block.split_once("\" {").unwrap();
        let port: u16 = body
            .split_once("proxy_pass http://127.0.0.1:")
            .and_then(|(_, rest)| rest.split_once(';'))
            .and_then(|(port, _)| port.parse().ok())
            .unwrap_or_else(|| panic!("{pattern}: no proxy_pass"));
        let service = ports
            .iter()
            .find(|(_, candidate)| **candidate == port)
            .map(|(service, _)| format!("{service}-srv"))
            .unwrap();
        routing.push((prefix_of(pattern), service));
    }
    routing
}

#[test]
fn the_ingress_the_httproutes_and_nginx_route_as_the_table() {
    let table = from_table();
    assert_eq!(table.len(), ROUTES.len());
    for (router, routing) in [
        ("the dev Ingress", from_ingress()),
        ("production's HTTPRoutes", from_httproutes()),
        ("cargo xtask up's nginx", from_nginx()),
    ] {
        assert_eq!(routing, table, "{router} and the route table disagree");
    }
}

/// Which Service the Gateway sends `path` to: the rule with the longest `PathPrefix` that
/// matches it, as Gateway API defines the match (whole path segments, case-sensitive).
fn through_gateway<'a>(routing: &'a Routing, path: &str) -> &'a str {
    routing
        .iter()
        .filter(|(prefix, _)| {
            let prefix = prefix.trim_end_matches('/');
            prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, service)| service.as_str())
        .unwrap_or_else(|| panic!("no rule takes {path}"))
}

#[test]
fn a_request_reaches_the_same_service_through_the_ingress_and_the_gateway() {
    let routing = from_httproutes();
    for path in [
        "/",
        "/tickets/new",
        "/orders/abc",
        "/auth/signin",
        "/api/users",
        "/api/users/",
        "/api/users/signin",
        "/api/users/currentuser",
        "/api/users/abc/ban",
        "/api/tickets",
        "/api/tickets/abc",
        "/api/orders",
        "/api/orders/abc",
        "/api/payments",
        "/api/payments/",
        "/api/payments/webhook",
        "/api/nowhere",
        "/api",
    ] {
        assert_eq!(
            through_gateway(&routing, path),
            format!("{}-srv", service_for(path)),
            "{path}"
        );
    }
    // Where the two matchings differ: the Ingress's regexes match any continuation and ignore
    // case, a PathPrefix neither. No API route answers these paths, so the answer is a 404
    // either way: the service's there, a page of the client's here.
    for (path, through_ingress) in [
        ("/api/paymentsx", "payments"),
        ("/API/Users/SignIn", "auth"),
    ] {
        assert_eq!(service_for(path), through_ingress, "{path}");
        assert_eq!(through_gateway(&routing, path), "client-srv", "{path}");
    }
}

#[test]
fn the_http_listener_only_redirects_and_every_route_is_on_the_production_host() {
    let host =
        text(&prod().get("Gateway", "ticketing-gateway")["spec"]["listeners"][0]["hostname"])
            .to_owned();
    for route in prod().of_kind("HTTPRoute") {
        let name = text(&route["metadata"]["name"]);
        assert_eq!(
            strings(&route["spec"]["hostnames"]),
            [host.as_str()],
            "{name}"
        );
        let [parent] = items(&route["spec"]["parentRefs"]) else {
            panic!("{name}: one parent")
        };
        assert_eq!(text(&parent["name"]), "ticketing-gateway", "{name}");
        let listener = text(&parent["sectionName"]);
        let rules = items(&route["spec"]["rules"]);
        match listener {
            "https" => assert_eq!(name, "ticketing"),
            "http" => {
                // One rule, every path, a redirect to HTTPS and no backend (Gateway API's rule:
                // a RequestRedirect filter never comes with backendRefs).
                let [rule] = rules else {
                    panic!("{name}: one rule")
                };
                assert!(rule["matches"].is_null(), "{name}: every path");
                assert!(rule["backendRefs"].is_null(), "{name}: nothing served");
                let [filter] = items(&rule["filters"]) else {
                    panic!("{name}: one filter")
                };
                assert_eq!(text(&filter["type"]), "RequestRedirect");
                let redirect = &filter["requestRedirect"];
                assert_eq!(text(&redirect["scheme"]), "https");
                assert_eq!(redirect["statusCode"].as_u64(), Some(301));
                assert!(
                    redirect["hostname"].is_null() && redirect["path"].is_null(),
                    "the same host and path"
                );
            }
            other => panic!("{name}: listener {other:?}"),
        }
    }
    let listeners: Vec<&str> = prod()
        .of_kind("HTTPRoute")
        .map(|route| text(&route["spec"]["parentRefs"][0]["sectionName"]))
        .collect();
    assert_eq!(listeners, ["http", "https"]);
}
