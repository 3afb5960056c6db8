//! The dev cluster's ingresses (ingress-nginx on ticketing.dev): their rate limits, and every
//! request reaching the service of the route table through them. Production routes through
//! the Gateway instead ([`super::gateway_api`]).

use devservers::routes::{ROUTES, service_for};
use serde_yaml::Value;

use super::*;

/// The Ingresses of an overlay, by name.
fn ingresses(manifests: &Manifests) -> BTreeMap<&str, &Value> {
    manifests
        .of_kind("Ingress")
        .map(|ingress| (text(&ingress["metadata"]["name"]), ingress))
        .collect()
}

#[test]
fn no_ingress_uses_snippets() {
    // Snippet annotations are off by default in ingress-nginx (and a way around its checks).
    for ingress in dev().of_kind("Ingress") {
        let annotations = ingress["metadata"]["annotations"].as_mapping().unwrap();
        for key in annotations.keys() {
            assert!(!text(key).contains("snippet"), "{key:?}");
        }
    }
    assert!(
        prod().of_kind("Ingress").next().is_none(),
        "production has no ingress-nginx: the Gateway routes"
    );
    assert_eq!(
        ingresses(dev()).into_keys().collect::<Vec<_>>(),
        [
            "ingress-payments-limits",
            "ingress-service",
            "ingress-sign-in-limits"
        ]
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
    let (manifests, dir) = (dev(), "dev");
    for ingress in manifests.of_kind("Ingress") {
        let name = text(&ingress["metadata"]["name"]);
        let annotations = &ingress["metadata"]["annotations"];
        let limits = RATE_LIMITS.iter().find(|(limited, ..)| *limited == name);
        let value = |key: &str| text(&annotations[format!("nginx.ingress.kubernetes.io/{key}")]);
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
    let (dir, host) = ("dev", "ticketing.dev");
    let locations = locations(dev(), host);
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
