//! The dev and production ingresses, their rate limits, production's TLS and HSTS, the load
//! balancer, and the settings that differ between them.

use std::collections::BTreeSet;

use devservers::routes::{ROUTES, service_for};
use serde_yaml::Value;

use super::*;

/// The production site's host, from the production ingress.
fn prod_host(prod: &Manifests) -> String {
    text(&prod.get("Ingress", "ingress-service")["spec"]["rules"][0]["host"]).to_owned()
}

/// The annotations production adds to every Ingress: HTTPS only.
/// The ingress-nginx annotation exempting addresses from its rate limits.
const LIMIT_WHITELIST: &str = "nginx.ingress.kubernetes.io/limit-whitelist";

const PROD_ONLY_ANNOTATIONS: [&str; 1] = ["nginx.ingress.kubernetes.io/force-ssl-redirect"];

/// The annotation asking cert-manager for the certificate, on `ingress-service` alone.
const CLUSTER_ISSUER: &str = "cert-manager.io/cluster-issuer";

/// The Ingresses of a directory, by name.
fn ingresses(manifests: &Manifests) -> BTreeMap<&str, &Value> {
    manifests
        .of_kind("Ingress")
        .map(|ingress| (text(&ingress["metadata"]["name"]), ingress))
        .collect()
}

#[test]
fn the_production_ingresses_route_like_the_dev_ones_on_the_production_host() {
    let dev = Manifests::load("infra/k8s-dev");
    let prod = Manifests::load("infra/k8s-prod");
    assert!(k8s().of_kind("Ingress").next().is_none());
    let host = prod_host(&prod);
    assert_ne!(host, "ticketing.dev");
    assert!(!host.is_empty());
    let dev_ingresses = ingresses(&dev);
    let prod_ingresses = ingresses(&prod);
    assert_eq!(
        dev_ingresses.keys().collect::<Vec<_>>(),
        prod_ingresses.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        dev_ingresses.keys().copied().collect::<Vec<_>>(),
        [
            "ingress-payments-limits",
            "ingress-service",
            "ingress-sign-in-limits"
        ]
    );

    for (name, dev_ingress) in dev_ingresses {
        let prod_ingress = prod_ingresses[name];
        // The dev ingress-service is tested against the route table (route_table.rs), and all of dev
        // against it below; prod must route alike.
        let mut expected_rules = dev_ingress["spec"]["rules"].clone();
        for rule in expected_rules.as_sequence_mut().unwrap() {
            assert_eq!(text(&rule["host"]), "ticketing.dev", "{name}");
            rule["host"] = Value::from(host.as_str());
        }
        assert_eq!(prod_ingress["spec"]["rules"], expected_rules, "{name}");
        for path in [&["spec", "ingressClassName"][..], &["apiVersion"]] {
            let at = |ingress: &Value| {
                path.iter()
                    .fold(ingress.clone(), |value, key| value[*key].clone())
            };
            assert_eq!(at(prod_ingress), at(dev_ingress), "{name}: {path:?}");
        }
        // The same annotations (rate limits, regex paths), plus HTTPS in production; the
        // addresses the web client's calls come from differ (pods in dev, nodes in production).
        let mut expected = dev_ingress["metadata"]["annotations"].clone();
        if let Some(whitelist) = prod_ingress["metadata"]["annotations"].get(LIMIT_WHITELIST) {
            expected[LIMIT_WHITELIST] = whitelist.clone();
        }
        for key in PROD_ONLY_ANNOTATIONS {
            expected[key] = Value::from("true");
        }
        if name == "ingress-service" {
            expected[CLUSTER_ISSUER] =
                prod_ingress["metadata"]["annotations"][CLUSTER_ISSUER].clone();
        }
        assert_eq!(prod_ingress["metadata"]["annotations"], expected, "{name}");
        assert!(
            dev_ingress["spec"]["tls"].is_null(),
            "{name}: plain HTTP in dev"
        );
    }
}

#[test]
fn production_serves_https_only_with_a_lets_encrypt_certificate_and_hsts() {
    let prod = Manifests::load("infra/k8s-prod");
    let host = prod_host(&prod);
    let mut secrets = BTreeSet::new();
    for (name, ingress) in ingresses(&prod) {
        let [tls] = items(&ingress["spec"]["tls"]) else {
            panic!("{name}: one tls section")
        };
        assert_eq!(strings(&tls["hosts"]), [host.as_str()], "{name}");
        secrets.insert(text(&tls["secretName"]));
        let annotations = &ingress["metadata"]["annotations"];
        assert_eq!(
            text(&annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"]),
            "true",
            "{name}"
        );
        // cert-manager makes one Certificate per Ingress that asks: one asks, the others serve
        // the same Secret.
        assert_eq!(
            !annotations[CLUSTER_ISSUER].is_null(),
            name == "ingress-service",
            "{name}"
        );
    }
    assert_eq!(secrets.len(), 1, "{secrets:?}");

    let issuer_name =
        text(&prod.get("Ingress", "ingress-service")["metadata"]["annotations"][CLUSTER_ISSUER]);
    let issuer = prod.get("ClusterIssuer", issuer_name);
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
    assert_eq!(
        text(&solver["http01"]["ingress"]["ingressClassName"]),
        text(&prod.get("Ingress", "ingress-service")["spec"]["ingressClassName"])
    );

    // HSTS on every HTTPS answer, from the controller's settings.
    let config = &prod.get("ConfigMap", "ingress-nginx-controller")["data"];
    assert_eq!(text(&config["hsts"]), "true");
    assert_eq!(text(&config["hsts-include-subdomains"]), "true");
    let max_age: u64 = text(&config["hsts-max-age"]).parse().unwrap();
    assert!(max_age >= 31_536_000, "a year at least: {max_age}");
}

#[test]
fn no_ingress_uses_snippets() {
    // Snippet annotations are off by default in ingress-nginx (and a way around its checks).
    for dir in ["infra/k8s-dev", "infra/k8s-prod"] {
        for ingress in Manifests::load(dir).of_kind("Ingress") {
            let annotations = ingress["metadata"]["annotations"].as_mapping().unwrap();
            for key in annotations.keys() {
                assert!(!text(key).contains("snippet"), "{dir}: {key:?}");
            }
        }
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
    // The controller's ConfigMap replaces the install's: it must keep proxy protocol on.
    let config = prod.get("ConfigMap", "ingress-nginx-controller");
    assert_eq!(text(&config["metadata"]["namespace"]), "ingress-nginx");
    assert_eq!(text(&config["data"]["use-proxy-protocol"]), "true");
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

/// The rate limits of each limited Ingress: (requests a minute, burst multiplier, connections),
/// per client address. The services enforce finer limits themselves (per email, per order, per
/// user); these stop a single address from flooding them first.
const RATE_LIMITS: [(&str, &str, &str, &str); 2] = [
    ("ingress-sign-in-limits", "30", "2", "5"),
    ("ingress-payments-limits", "20", "2", "5"),
];

#[test]
fn sign_in_sign_up_and_payments_are_rate_limited_per_address() {
    for dir in ["infra/k8s-dev", "infra/k8s-prod"] {
        let manifests = Manifests::load(dir);
        for ingress in manifests.of_kind("Ingress") {
            let name = text(&ingress["metadata"]["name"]);
            let annotations = &ingress["metadata"]["annotations"];
            let limits = RATE_LIMITS.iter().find(|(limited, ..)| *limited == name);
            let value =
                |key: &str| text(&annotations[format!("nginx.ingress.kubernetes.io/{key}")]);
            match limits {
                Some((_, rpm, burst, connections)) => {
                    assert_eq!(value("limit-rpm"), *rpm, "{dir}: {name}");
                    assert_eq!(value("limit-burst-multiplier"), *burst, "{dir}: {name}");
                    assert_eq!(value("limit-connections"), *connections, "{dir}: {name}");
                    // The whole host is regex paths, whichever Ingress says so.
                    assert_eq!(value("use-regex"), "true", "{dir}: {name}");
                }
                None => {
                    assert_eq!(name, "ingress-service", "{dir}");
                    assert_eq!(value("limit-rpm"), "", "{dir}: {name}");
                }
            }
        }
        let limited = manifests
            .of_kind("Ingress")
            .filter(|ingress| !annotation_is_empty(ingress, "limit-rpm"))
            .count();
        assert_eq!(limited, RATE_LIMITS.len(), "{dir}");
    }
    // A limited request gets 429 in production, as the services answer.
    let prod = Manifests::load("infra/k8s-prod");
    let config = &prod.get("ConfigMap", "ingress-nginx-controller")["data"];
    assert_eq!(text(&config["limit-req-status-code"]), "429");
    assert_eq!(text(&config["limit-conn-status-code"]), "429");
}

fn annotation_is_empty(ingress: &Value, key: &str) -> bool {
    ingress["metadata"]["annotations"][format!("nginx.ingress.kubernetes.io/{key}")].is_null()
}

/// One location of ingress-nginx's server for a host: a path regex of an Ingress.
#[derive(Debug)]
struct Location {
    path: String,
    ingress: String,
    service: String,
}

/// The locations ingress-nginx makes of every Ingress for `host`, in the order it writes them
/// (and nginx tries regex locations): longest path first, equal lengths in reverse order
/// (ingress-nginx's controller sorts them so). A path defined twice would go to whichever
/// Ingress is older, so there must be none.
fn locations(manifests: &Manifests, host: &str) -> Vec<Location> {
    let mut locations: Vec<Location> = Vec::new();
    for ingress in manifests.of_kind("Ingress") {
        for rule in items(&ingress["spec"]["rules"]) {
            if text(&rule["host"]) != host {
                continue;
            }
            for path in items(&rule["http"]["paths"]) {
                assert_eq!(text(&path["pathType"]), "ImplementationSpecific");
                let location = Location {
                    path: text(&path["path"]).to_owned(),
                    ingress: text(&ingress["metadata"]["name"]).to_owned(),
                    service: text(&path["backend"]["service"]["name"]).to_owned(),
                };
                assert!(
                    locations.iter().all(|other| other.path != location.path),
                    "{} twice",
                    location.path
                );
                locations.push(location);
            }
        }
    }
    locations.sort_by(|a, b| b.path.cmp(&a.path));
    locations.sort_by_key(|location| std::cmp::Reverse(location.path.len()));
    locations
}

/// The location nginx picks for `path`: the first whose regex matches from the start, ignoring
/// case (ingress-nginx writes `location ~* "^<path>"`).
fn pick<'a>(locations: &'a [Location], path: &str) -> &'a Location {
    locations
        .iter()
        .find(|location| regex::matches(&location.path, path))
        .unwrap_or_else(|| panic!("no location for {path}"))
}

/// Requests the ingresses must route: every route's prefix, and the paths of the limited routes.
const PROBES: [&str; 19] = [
    "/",
    "/tickets/new",
    "/auth/signin",
    "/api/users/signin",
    "/api/users/signup",
    "/api/users/signin/",
    "/API/Users/SignIn",
    "/api/users/signout",
    "/api/users/currentuser",
    "/api/users",
    "/api/tickets",
    "/api/tickets/abc",
    "/api/orders",
    "/api/orders/abc",
    "/api/payments",
    "/api/payments/",
    "/api/payments/abc",
    "/API/PAYMENTS",
    "/api/paymentsx",
];

/// The Ingress that must take a request: the limited paths go to the limited Ingresses.
fn limiting_ingress(path: &str) -> &'static str {
    let path = path.to_ascii_lowercase();
    if path.starts_with("/api/users/signin") || path.starts_with("/api/users/signup") {
        "ingress-sign-in-limits"
    } else if path.starts_with("/api/payments") {
        // The route's own pattern, anchored: every request the route takes.
        "ingress-payments-limits"
    } else {
        "ingress-service"
    }
}

#[test]
fn every_request_reaches_the_service_of_the_route_table_through_its_limits() {
    for (dir, host) in [
        ("infra/k8s-dev", "ticketing.dev".to_owned()),
        (
            "infra/k8s-prod",
            prod_host(&Manifests::load("infra/k8s-prod")),
        ),
    ] {
        let locations = locations(&Manifests::load(dir), &host);
        for path in PROBES
            .into_iter()
            .chain(ROUTES.iter().map(|route| route.probe_path()))
        {
            // The route table: the first route that matches, in table order.
            let route = ROUTES
                .iter()
                .find(|route| regex::matches(route.pattern, path))
                .unwrap_or_else(|| panic!("no route for {path}"));
            // What the chaos fleet's client and anything else routing by path use.
            assert_eq!(service_for(path), route.service, "{path}");
            let location = pick(&locations, path);
            assert_eq!(
                location.service,
                format!("{}-srv", route.service),
                "{dir}: {path} goes to {location:?}"
            );
            assert_eq!(location.ingress, limiting_ingress(path), "{dir}: {path}");
        }
    }
}

#[test]
fn the_path_matcher_reads_the_ingress_regexes_as_nginx_does() {
    use regex::matches;
    assert!(matches("/api/payments/?(.*)", "/api/payments"));
    assert!(matches("/api/payments/?(.*)", "/api/paymentsx"));
    assert!(matches("/api/payments/?(.*)$", "/API/Payments/abc"));
    assert!(!matches("/api/payments/?(.*)", "/api/pay"));
    assert!(matches("/?(.*)", "/anything"));
    assert!(matches("/api/users/signin", "/api/users/signin/again"));
    assert!(!matches("/api/users/signin", "/api/users/signout"));
    assert!(matches("/a(/b)?$", "/a/b"));
    assert!(!matches("/a(/b)?$", "/a/bc"));
    assert!(matches("/a(/b)*$", "/a/b/b"));
}

/// The small part of PCRE the ingress paths use: literals, `.`, groups, `?` and `*` after an atom,
/// `$` for the end. Matched from the start of the path, ignoring ASCII case.
mod regex {
    use std::collections::BTreeSet;

    #[derive(Debug)]
    enum Atom {
        Literal(char),
        Any,
        End,
        Group(Vec<Piece>),
    }

    #[derive(Debug)]
    enum Repeat {
        Once,
        Optional,
        Any,
    }

    #[derive(Debug)]
    struct Piece {
        atom: Atom,
        repeat: Repeat,
    }

    fn parse(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Vec<Piece> {
        let mut pieces = Vec::new();
        while let Some(&c) = chars.peek() {
            let atom = match c {
                ')' => break,
                '(' => {
                    chars.next();
                    let group = parse(chars);
                    assert_eq!(chars.next(), Some(')'), "an unclosed group");
                    Atom::Group(group)
                }
                '.' => Atom::Any,
                '$' => Atom::End,
                '[' | ']' | '{' | '}' | '|' | '+' | '\\' | '^' | '?' | '*' => {
                    panic!("{c:?} is beyond this matcher: extend it")
                }
                c => Atom::Literal(c),
            };
            if !matches!(atom, Atom::Group(_)) {
                chars.next();
            }
            let repeat = match chars.peek() {
                Some('?') => Repeat::Optional,
                Some('*') => Repeat::Any,
                _ => Repeat::Once,
            };
            if !matches!(repeat, Repeat::Once) {
                chars.next();
            }
            pieces.push(Piece { atom, repeat });
        }
        pieces
    }

    /// Where `atom` can end when it starts at `at`.
    fn atom_ends(atom: &Atom, input: &[char], at: usize) -> BTreeSet<usize> {
        match atom {
            Atom::Literal(c) => input
                .get(at)
                .filter(|next| next.eq_ignore_ascii_case(c))
                .map(|_| at + 1)
                .into_iter()
                .collect(),
            Atom::Any => input
                .get(at)
                .filter(|next| **next != '\n')
                .map(|_| at + 1)
                .into_iter()
                .collect(),
            Atom::End => (at == input.len()).then_some(at).into_iter().collect(),
            Atom::Group(pieces) => ends(pieces, input, BTreeSet::from([at])),
        }
    }

    /// Where `pieces` can end when they start at any of `starts`.
    fn ends(pieces: &[Piece], input: &[char], starts: BTreeSet<usize>) -> BTreeSet<usize> {
        pieces.iter().fold(starts, |starts, piece| {
            let once = |from: &BTreeSet<usize>| -> BTreeSet<usize> {
                from.iter()
                    .flat_map(|at| atom_ends(&piece.atom, input, *at))
                    .collect()
            };
            match piece.repeat {
                Repeat::Once => once(&starts),
                Repeat::Optional => starts.union(&once(&starts)).copied().collect(),
                Repeat::Any => {
                    let mut reached = starts.clone();
                    let mut frontier = starts;
                    while !frontier.is_empty() {
                        frontier = once(&frontier).difference(&reached).copied().collect();
                        reached.extend(&frontier);
                    }
                    reached
                }
            }
        })
    }

    /// Whether `pattern` matches `path` from its start (nginx's `~* "^pattern"`).
    pub(super) fn matches(pattern: &str, path: &str) -> bool {
        let pieces = parse(&mut pattern.chars().peekable());
        let input: Vec<char> = path.chars().collect();
        !ends(&pieces, &input, BTreeSet::from([0])).is_empty()
    }
}
