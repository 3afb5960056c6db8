//! The dev Ingress (`infra/k8s/overlays/dev/ingress-srv.yaml`) against the route table
//! (`devservers::routes`): the same patterns, in the same order, to the same services.

use devservers::routes::{ROUTES, Route};
use serde::Deserialize;

use super::*;
use crate::services::SERVICES;

/// The port every service's Kubernetes Service exposes.
const CLUSTER_PORT: u16 = 3000;

/// The Kubernetes Service in front of a route's service: `auth-srv`.
fn cluster_service(route: &Route) -> String {
    format!("{}-srv", route.service)
}

// The part of a networking.k8s.io/v1 Ingress that routing depends on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ingress {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    ingress_class_name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    host: String,
    http: Http,
}

#[derive(Deserialize)]
struct Http {
    paths: Vec<Path>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Path {
    path: String,
    path_type: String,
    backend: Backend,
}

#[derive(Deserialize)]
struct Backend {
    service: BackendService,
}

#[derive(Deserialize)]
struct BackendService {
    name: String,
    port: BackendPort,
}

#[derive(Deserialize)]
struct BackendPort {
    number: u16,
}

fn dev_ingress() -> Ingress {
    serde_yaml::from_value(dev().get("Ingress", "ingress-service").clone()).unwrap()
}

#[test]
fn the_kubernetes_ingress_routes_exactly_like_the_table() {
    let ingress = dev_ingress();
    assert_eq!(ingress.api_version, "networking.k8s.io/v1");
    assert_eq!(ingress.kind, "Ingress");
    assert_eq!(ingress.metadata.name, "ingress-service");
    assert_eq!(
        ingress
            .metadata
            .annotations
            .get("nginx.ingress.kubernetes.io/use-regex")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(ingress.spec.ingress_class_name, "nginx");
    let [rule] = &ingress.spec.rules[..] else {
        panic!("expected exactly one rule")
    };
    assert_eq!(rule.host, "ticketing.dev");

    let in_yaml: Vec<(&str, &str, &str, u16)> = rule
        .http
        .paths
        .iter()
        .map(|path| {
            let service = &path.backend.service;
            (
                path.path.as_str(),
                path.path_type.as_str(),
                service.name.as_str(),
                service.port.number,
            )
        })
        .collect();
    let services: Vec<String> = ROUTES.iter().map(cluster_service).collect();
    let in_table: Vec<(&str, &str, &str, u16)> = ROUTES
        .iter()
        .zip(&services)
        .map(|(route, service)| {
            (
                route.pattern,
                "ImplementationSpecific",
                service.as_str(),
                CLUSTER_PORT,
            )
        })
        .collect();
    assert_eq!(in_yaml, in_table);
}

#[test]
fn every_route_goes_to_a_known_service_and_the_catch_all_is_last() {
    for route in ROUTES {
        assert!(
            SERVICES.iter().any(|service| service.name == route.service),
            "{route:?}"
        );
    }
    assert_eq!(ROUTES.last().map(Route::probe_path), Some("/"));
}
