//! The dev and production ingresses, the load balancer, and the settings that differ between them.

use serde_yaml::Value;

use super::*;

/// The production site's host, from the production ingress.
fn prod_host(prod: &Manifests) -> String {
    text(&prod.get("Ingress", "ingress-service")["spec"]["rules"][0]["host"]).to_owned()
}

#[test]
fn the_production_ingress_routes_like_the_dev_one_on_the_production_host() {
    let dev = Manifests::load("infra/k8s-dev");
    let prod = Manifests::load("infra/k8s-prod");
    assert!(k8s().find("Ingress", "ingress-service").is_none());
    let dev_ingress = dev.get("Ingress", "ingress-service");
    let prod_ingress = prod.get("Ingress", "ingress-service");
    let host = prod_host(&prod);
    assert_ne!(host, "ticketing.dev");
    assert!(!host.is_empty());

    // The dev ingress is tested against the route table (routes.rs); prod must route alike.
    // (TLS settings may be added to prod alone.)
    let mut expected_rules = dev_ingress["spec"]["rules"].clone();
    expected_rules[0]["host"] = Value::from(host.as_str());
    assert_eq!(prod_ingress["spec"]["rules"], expected_rules);
    for path in [
        &["spec", "ingressClassName"][..],
        &["apiVersion"],
        &[
            "metadata",
            "annotations",
            "nginx.ingress.kubernetes.io/use-regex",
        ],
    ] {
        let at = |ingress: &Value| {
            path.iter()
                .fold(ingress.clone(), |value, key| value[*key].clone())
        };
        assert_eq!(at(prod_ingress), at(dev_ingress), "{path:?}");
    }
}

#[test]
fn production_sits_behind_a_digitalocean_load_balancer_with_proxy_protocol() {
    let prod = Manifests::load("infra/k8s-prod");
    let host = prod_host(&prod);
    let lb = prod.get("Service", "ingress-nginx-controller");
    assert_eq!(text(&lb["metadata"]["namespace"]), "ingress-nginx");
    let annotations = &lb["metadata"]["annotations"];
    assert_eq!(
        text(&annotations["service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"]),
        "true"
    );
    assert_eq!(
        text(&annotations["service.beta.kubernetes.io/do-loadbalancer-hostname"]),
        host
    );
    assert_eq!(text(&lb["spec"]["type"]), "LoadBalancer");
    assert_eq!(text(&lb["spec"]["externalTrafficPolicy"]), "Local");
    assert_eq!(
        text(&lb["spec"]["selector"]["app.kubernetes.io/component"]),
        "controller"
    );
    let ports: Vec<(&str, u64)> = items(&lb["spec"]["ports"])
        .iter()
        .map(|port| (text(&port["name"]), port["port"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(ports, [("http", 80), ("https", 443)]);
}

#[test]
fn production_sets_secure_cookies_and_renders_through_the_load_balancer() {
    let dev = Manifests::load("infra/k8s-dev");
    let prod = Manifests::load("infra/k8s-prod");
    let value = |manifests: &Manifests, key: &str| {
        text(&manifests.get("ConfigMap", "ticketing-config")["data"][key]).to_owned()
    };
    assert_eq!(value(&dev, "COOKIE_SECURE"), "false");
    assert_eq!(value(&prod, "COOKIE_SECURE"), "true");
    assert_eq!(
        value(&dev, "API_BASE_URL"),
        "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local"
    );
    assert_eq!(
        value(&prod, "API_BASE_URL"),
        format!("https://{}", prod_host(&prod))
    );
}
