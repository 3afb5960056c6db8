//! The ingress route table: the one place that says which service answers which path.
//!
//! Kubernetes gets it from `infra/k8s-dev/ingress-srv.yaml` (ingress-nginx), written by hand for
//! readability and checked against this table by a test here; `cargo xtask up` generates its local
//! nginx from it ([`crate::nginx`]). So the two cannot drift.

/// One ingress rule: requests whose path matches `pattern` go to `service`.
///
/// The pattern is a regular expression matched from the start of the path and, as ingress-nginx
/// does with `use-regex`, without regard to case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    /// The path regex, exactly as it appears in the Kubernetes Ingress.
    pub(crate) pattern: &'static str,
    /// The service that answers (see [`crate::services::SERVICES`]).
    pub(crate) service: &'static str,
}

/// The routes, checked in this order: the first match wins, so the client's catch-all is last.
///
/// (ingress-nginx tries regex paths longest first instead; that gives the same answers, since
/// the `/api/` prefixes exclude each other and the catch-all is the shortest.)
pub(crate) const ROUTES: [Route; 5] = [
    Route {
        pattern: "/api/payments/?(.*)",
        service: "payments",
    },
    Route {
        pattern: "/api/users/?(.*)",
        service: "auth",
    },
    Route {
        pattern: "/api/tickets/?(.*)",
        service: "tickets",
    },
    Route {
        pattern: "/api/orders/?(.*)",
        service: "orders",
    },
    Route {
        pattern: "/?(.*)",
        service: "client",
    },
];

impl Route {
    /// A path that this route, and no earlier one, matches: its prefix, e.g. `/api/users`.
    pub(crate) fn probe_path(&self) -> &'static str {
        match self.pattern.strip_suffix("/?(.*)") {
            Some(prefix) if !prefix.is_empty() => prefix,
            _ => "/",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::SERVICES;
    use serde::Deserialize;
    use std::collections::BTreeMap;

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
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/k8s-dev/ingress-srv.yaml"
        );
        let yaml = std::fs::read_to_string(file).unwrap();
        serde_yaml::from_str(&yaml).unwrap()
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
        assert_eq!(
            ROUTES.iter().position(|route| route.probe_path() == "/"),
            Some(ROUTES.len() - 1)
        );
    }

    #[test]
    fn probe_paths_are_the_route_prefixes() {
        let probes: Vec<&str> = ROUTES.iter().map(Route::probe_path).collect();
        assert_eq!(
            probes,
            [
                "/api/payments",
                "/api/users",
                "/api/tickets",
                "/api/orders",
                "/"
            ]
        );
    }
}
