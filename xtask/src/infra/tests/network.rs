//! Who may reach whom: the network policies of each overlay applied to the pods' labels, as the
//! Kubernetes API defines them, for every pair of pods and every port, compared with the one
//! table of allowed connections ([`allowed_everywhere`], plus each overlay's own;
//! docs/security.md shows the same table). Everything not in it is denied.
//!
//! The model: our pods (every Deployment's and StatefulSet's, in namespace `default`; two of a
//! StatefulSet of several, so that its members' connections to each other show) and the others a
//! connection may involve ([`world`]): ingress-nginx's controller, Cilium's Gateway (its
//! `ingress` entity), the cluster DNS, Prometheus in the `monitoring` namespace, a pod of
//! another namespace wearing one of our labels, the
//! node, the cloud's metadata service, the internet and the production load balancer. A
//! connection is allowed when the policies selecting its source let it out (a pod no policy
//! selects for egress may open anything) and those selecting its destination let it in. Pods of
//! other namespaces are not ours to govern: their side always allows. The kubelet's probes are
//! not modelled, since policies do not apply to them.
//!
//! Production's CiliumNetworkPolicies are read as Cilium reads them beside the NetworkPolicies
//! ([`as_network_policy`]): `endpointSelector` selects like `podSelector`, `fromEntities` /
//! `toEntities` name an entity such as the Gateway's, and a connection needs one policy of
//! either kind to allow it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde_yaml::Value;

use super::*;

/// The namespace the manifests are applied to.
const NAMESPACE: &str = "default";

/// One end of a connection.
#[derive(Debug)]
struct Endpoint {
    /// How the table calls it: a pod's `app` label, or a name for the others.
    name: String,
    /// A pod's namespace; `None` outside the cluster.
    namespace: Option<&'static str>,
    labels: BTreeMap<String, String>,
    ip: Ipv4Addr,
    /// The ports it listens on: (number, protocol, name).
    ports: Vec<(u16, &'static str, String)>,
    /// The Cilium entity it is, for what is no pod (the Gateway's Envoy: `ingress`).
    entity: Option<&'static str>,
}

impl Endpoint {
    fn ours(&self) -> bool {
        self.namespace == Some(NAMESPACE)
    }
}

/// The pods of every workload in `manifests`, each on an address of its own in the pod range:
/// one per Deployment, and one or two per StatefulSet, as it has one member or more.
fn our_pods(manifests: &Manifests) -> Vec<Endpoint> {
    manifests
        .workloads()
        .flat_map(|workload| {
            let members = match text(&workload["kind"]) {
                "StatefulSet" => workload["spec"]["replicas"].as_u64().unwrap_or(1).min(2),
                _ => 1,
            };
            std::iter::repeat_n(workload, members as usize)
        })
        .zip(10u8..)
        .map(|(deployment, host)| {
            let template = &deployment["spec"]["template"];
            let labels = labels(&template["metadata"]["labels"]);
            let ports = containers(&template["spec"])
                .flat_map(|container| items(&container["ports"]))
                .map(|port| {
                    let number = port["containerPort"].as_u64().unwrap() as u16;
                    let protocol = match text(&port["protocol"]) {
                        "UDP" => "UDP",
                        _ => "TCP",
                    };
                    (number, protocol, text(&port["name"]).to_owned())
                })
                .collect();
            Endpoint {
                name: labels["app"].clone(),
                namespace: Some(NAMESPACE),
                labels,
                ip: Ipv4Addr::new(10, 244, 0, host),
                ports,
                entity: None,
            }
        })
        .collect()
}

/// What else a connection may come from or go to.
fn world() -> Vec<Endpoint> {
    let endpoint = |name: &str,
                    namespace: Option<&'static str>,
                    labels: &[(&str, &str)],
                    ip: [u8; 4],
                    ports: &[(u16, &'static str)]| Endpoint {
        name: name.to_owned(),
        namespace,
        labels: labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
        ip: Ipv4Addr::from(ip),
        ports: ports
            .iter()
            .map(|(port, protocol)| (*port, *protocol, String::new()))
            .collect(),
        entity: None,
    };
    vec![
        // ingress-nginx's controller pods, as its install labels them.
        endpoint(
            "ingress-nginx",
            Some("ingress-nginx"),
            &[
                ("app.kubernetes.io/name", "ingress-nginx"),
                ("app.kubernetes.io/instance", "ingress-nginx"),
                ("app.kubernetes.io/component", "controller"),
            ],
            [10, 244, 1, 1],
            &[(80, "TCP"), (443, "TCP"), (8443, "TCP")],
        ),
        // ingress-nginx's admission jobs: same namespace, not the controller.
        endpoint(
            "ingress-nginx-admission",
            Some("ingress-nginx"),
            &[
                ("app.kubernetes.io/name", "ingress-nginx"),
                ("app.kubernetes.io/component", "admission-webhook"),
            ],
            [10, 244, 1, 2],
            &[],
        ),
        endpoint(
            "kube-dns",
            Some("kube-system"),
            &[("k8s-app", "kube-dns")],
            [10, 244, 2, 1],
            &[(53, "UDP"), (53, "TCP"), (9153, "TCP")],
        ),
        // kube-prometheus-stack's Prometheus, in the namespace it is installed in.
        endpoint(
            "prometheus",
            Some("monitoring"),
            &[("app.kubernetes.io/name", "prometheus")],
            [10, 244, 4, 1],
            &[(9090, "TCP")],
        ),
        // Another namespace's pod, wearing the label of one of ours.
        endpoint(
            "elsewhere",
            Some("elsewhere"),
            &[("app", "tickets")],
            [10, 244, 3, 1],
            &[(3000, "TCP")],
        ),
        // A node's address in the VPC (the kubelet's API).
        endpoint("node", None, &[], [10, 110, 0, 2], &[(10250, "TCP")]),
        endpoint("metadata", None, &[], [169, 254, 169, 254], &[(80, "TCP")]),
        endpoint(
            "internet",
            None,
            &[],
            [93, 184, 216, 34],
            &[(80, "TCP"), (443, "TCP")],
        ),
        // The production load balancer's address (the placeholder in
        // infra/k8s/overlays/prod/network-policies.yaml).
        endpoint(
            "load-balancer",
            None,
            &[],
            [203, 0, 113, 10],
            &[(80, "TCP"), (443, "TCP")],
        ),
        // Cilium's Gateway (production): an Envoy on each node, Cilium's `ingress` entity, no
        // pod; its listeners.
        Endpoint {
            entity: Some("ingress"),
            ..endpoint(
                "gateway",
                None,
                &[],
                [10, 244, 9, 1],
                &[(80, "TCP"), (443, "TCP")],
            )
        },
        // cert-manager's HTTP-01 solver, in our namespace while a certificate is issued.
        endpoint(
            "acme-solver",
            Some(NAMESPACE),
            &[("acme.cert-manager.io/http01-solver", "true")],
            [10, 244, 0, 200],
            &[(8089, "TCP")],
        ),
    ]
}

fn labels(value: &Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .map(|labels| {
            labels
                .iter()
                .map(|(key, value)| (text(key).to_owned(), text(value).to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects `labels`. An empty
/// selector selects everything.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = self::labels(&selector["matchLabels"]);
    let by_labels = match_labels
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value));
    let by_expressions = items(&selector["matchExpressions"])
        .iter()
        .all(|expression| {
            let value = labels.get(text(&expression["key"]));
            let values = strings(&expression["values"]);
            match text(&expression["operator"]) {
                "In" => value.is_some_and(|value| values.contains(&value.as_str())),
                "NotIn" => !value.is_some_and(|value| values.contains(&value.as_str())),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                operator => panic!("unknown operator {operator}"),
            }
        });
    by_labels && by_expressions
}

/// Whether `ip` is in the IPv4 range `cidr`.
fn in_range(ip: Ipv4Addr, cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let network: Ipv4Addr = network.parse().unwrap_or_else(|_| panic!("{cidr}"));
    let bits: u32 = bits.parse().unwrap_or_else(|_| panic!("{cidr}"));
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(network) & mask
}

/// Whether a rule's peer (`podSelector`, `namespaceSelector`, both, or `ipBlock`) is `endpoint`.
fn peer_is(peer: &Value, endpoint: &Endpoint) -> bool {
    if !peer["entity"].is_null() {
        return endpoint.entity == Some(text(&peer["entity"]));
    }
    if endpoint.entity.is_some() {
        // Cilium's entities are selected by name only, never by labels or address ranges.
        return false;
    }
    if peer["ipBlock"].is_mapping() {
        let block = &peer["ipBlock"];
        return in_range(endpoint.ip, text(&block["cidr"]))
            && !strings(&block["except"])
                .into_iter()
                .any(|cidr| in_range(endpoint.ip, cidr));
    }
    let Some(namespace) = endpoint.namespace else {
        return false;
    };
    let namespace_ok = if peer["namespaceSelector"].is_mapping() {
        let namespace_labels = BTreeMap::from([(
            "kubernetes.io/metadata.name".to_owned(),
            namespace.to_owned(),
        )]);
        selects(&peer["namespaceSelector"], &namespace_labels)
    } else {
        // A podSelector alone means the policy's own namespace.
        namespace == NAMESPACE
    };
    let pod_ok =
        !peer["podSelector"].is_mapping() || selects(&peer["podSelector"], &endpoint.labels);
    namespace_ok && pod_ok
}

/// Whether a rule's `ports` let through `port` of `to`; none listed lets through every port.
fn port_allowed(ports: &Value, port: &(u16, &str, String)) -> bool {
    let ports = items(ports);
    ports.is_empty()
        || ports.iter().any(|allowed| {
            let protocol = match text(&allowed["protocol"]) {
                "" => "TCP",
                protocol => protocol,
            };
            let number_ok = match &allowed["port"] {
                Value::Null => true,
                Value::Number(number) => {
                    let low = number.as_u64().unwrap();
                    let high = allowed["endPort"].as_u64().unwrap_or(low);
                    (low..=high).contains(&u64::from(port.0))
                }
                Value::String(name) => *name == port.2,
                other => panic!("port {other:?}"),
            };
            protocol == port.1 && number_ok
        })
}

/// Whether the policies let `endpoint` send (`direction` "Egress", to `peer`) or receive
/// ("Ingress", from `peer`) on `port` of the destination.
fn let_through(
    policies: &[&Value],
    direction: &str,
    endpoint: &Endpoint,
    peer: &Endpoint,
    port: &(u16, &str, String),
) -> bool {
    if !endpoint.ours() {
        return true;
    }
    let governing: Vec<&Value> = policies
        .iter()
        .copied()
        .filter(|policy| selects(&policy["spec"]["podSelector"], &endpoint.labels))
        .filter(|policy| policy_types(policy).contains(&direction))
        .collect();
    if governing.is_empty() {
        return true;
    }
    let (rules, peers) = match direction {
        "Ingress" => ("ingress", "from"),
        _ => ("egress", "to"),
    };
    governing.iter().any(|policy| {
        items(&policy["spec"][rules]).iter().any(|rule| {
            let listed = items(&rule[peers]);
            (listed.is_empty() || listed.iter().any(|listed| peer_is(listed, peer)))
                && port_allowed(&rule["ports"], port)
        })
    })
}

/// A policy's `policyTypes`; without them, Ingress, and Egress when it has egress rules.
fn policy_types(policy: &Value) -> Vec<&str> {
    let types = strings(&policy["spec"]["policyTypes"]);
    if !types.is_empty() {
        return types;
    }
    let mut types = vec!["Ingress"];
    if !policy["spec"]["egress"].is_null() {
        types.push("Egress");
    }
    types
}

/// A CiliumNetworkPolicy as the NetworkPolicy that allows the same, with its entities as
/// `entity` peers; a NetworkPolicy as it is.
fn as_network_policy(policy: &Value) -> Value {
    if text(&policy["kind"]) != "CiliumNetworkPolicy" {
        return policy.clone();
    }
    let spec = &policy["spec"];
    let rules = |direction: &str, entities: &str, to: &str| -> Value {
        let rules: Vec<Value> = items(&spec[direction])
            .iter()
            .map(|rule| {
                let keys: Vec<&str> = rule
                    .as_mapping()
                    .into_iter()
                    .flat_map(|rule| rule.keys().map(text))
                    .collect();
                for key in keys {
                    assert!(
                        [entities, "toPorts"].contains(&key),
                        "{policy:?}: the model reads no {key}"
                    );
                }
                let peers: Vec<Value> = strings(&rule[entities])
                    .into_iter()
                    .map(|entity| serde_yaml::from_str(&format!("{{entity: {entity}}}")).unwrap())
                    .collect();
                let ports: Vec<Value> = items(&rule["toPorts"])
                    .iter()
                    .flat_map(|ports| items(&ports["ports"]))
                    .map(|port| {
                        serde_yaml::from_str(&format!(
                            "{{protocol: {}, port: {}}}",
                            text(&port["protocol"]),
                            text(&port["port"])
                        ))
                        .unwrap()
                    })
                    .collect();
                let mut rule = serde_yaml::Mapping::new();
                rule.insert(Value::from(to), Value::from(peers));
                rule.insert(Value::from("ports"), Value::from(ports));
                Value::from(rule)
            })
            .collect();
        Value::from(rules)
    };
    // A direction a policy has rules for is denied but for them, to the endpoints it selects.
    let types: Vec<Value> = [("ingress", "Ingress"), ("egress", "Egress")]
        .into_iter()
        .filter(|(direction, _)| !spec[*direction].is_null())
        .map(|(_, kind)| Value::from(kind))
        .collect();
    let mut normalized = serde_yaml::Mapping::new();
    normalized.insert("podSelector".into(), spec["endpointSelector"].clone());
    normalized.insert("policyTypes".into(), Value::from(types));
    normalized.insert("ingress".into(), rules("ingress", "fromEntities", "from"));
    normalized.insert("egress".into(), rules("egress", "toEntities", "to"));
    let mut object = serde_yaml::Mapping::new();
    object.insert("kind".into(), Value::from("NetworkPolicy"));
    object.insert("metadata".into(), policy["metadata"].clone());
    object.insert("spec".into(), Value::from(normalized));
    Value::from(object)
}

/// Every allowed connection that involves one of our pods, as `from -> to:port/protocol`, with
/// the policies of `manifests` applied to its pods and the world.
fn reachability(manifests: &Manifests) -> BTreeSet<String> {
    let policies: Vec<Value> = manifests
        .of_kind("NetworkPolicy")
        .chain(manifests.of_kind("CiliumNetworkPolicy"))
        .map(as_network_policy)
        .collect();
    let policies: Vec<&Value> = policies.iter().collect();
    for policy in &policies {
        let namespace = text(&policy["metadata"]["namespace"]);
        assert!(
            namespace.is_empty() || namespace == NAMESPACE,
            "{policy:?}: the namespace the pods are in"
        );
    }
    let endpoints: Vec<Endpoint> = our_pods(manifests).into_iter().chain(world()).collect();
    let mut allowed = BTreeSet::new();
    for from in &endpoints {
        for to in &endpoints {
            if std::ptr::eq(from, to) || !(from.ours() || to.ours()) {
                continue;
            }
            for port in &to.ports {
                if let_through(&policies, "Egress", from, to, port)
                    && let_through(&policies, "Ingress", to, from, port)
                {
                    allowed.insert(format!(
                        "{} -> {}:{}/{}",
                        from.name, to.name, port.0, port.1
                    ));
                }
            }
        }
    }
    allowed
}

/// The connections allowed in every cluster, dev or production.
fn allowed_everywhere() -> BTreeSet<String> {
    let mut allowed: Vec<String> = vec![
        // Each service its own database.
        "auth -> auth-mongo:27017/TCP",
        "tickets -> tickets-mongo:27017/TCP",
        "orders -> orders-mongo:27017/TCP",
        "payments -> payments-mongo:27017/TCP",
        // The bus, for the five that use it; Redis for expiration.
        "auth -> nats:4222/TCP",
        "tickets -> nats:4222/TCP",
        "orders -> nats:4222/TCP",
        "payments -> nats:4222/TCP",
        "expiration -> nats:4222/TCP",
        "expiration -> expiration-redis:6379/TCP",
        // Stripe, for payments: any public address on 443.
        "payments -> internet:443/TCP",
        "payments -> load-balancer:443/TCP",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for service in [
        "auth",
        "tickets",
        "orders",
        "payments",
        "expiration",
        "client",
    ] {
        for protocol in ["UDP", "TCP"] {
            allowed.push(format!("{service} -> kube-dns:53/{protocol}"));
        }
        // Prometheus scrapes each service's metrics port.
        allowed.push(format!("prometheus -> {service}:9464/TCP"));
    }
    allowed.into_iter().collect()
}

/// The five services behind the ingress controller or the Gateway.
const HTTP_SERVICES: [&str; 5] = ["auth", "tickets", "orders", "payments", "client"];

/// Fails naming the connections the policies allow beyond `expected`, and those they deny in it.
fn assert_reachability(allowed: &BTreeSet<String>, expected: &BTreeSet<String>) {
    let extra: Vec<&String> = allowed.difference(expected).collect();
    let missing: Vec<&String> = expected.difference(allowed).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "allowed but not in the table: {extra:#?}\nin the table but denied: {missing:#?}"
    );
}

/// What must never be allowed, in either cluster.
fn assert_the_ones_that_matter_most_are_denied(allowed: &BTreeSet<String>) {
    let can = |connection: &str| allowed.contains(connection);
    for database in [
        "auth-mongo",
        "tickets-mongo",
        "orders-mongo",
        "payments-mongo",
    ] {
        assert!(!can(&format!("client -> {database}:27017/TCP")));
        for entry in ["ingress-nginx", "gateway"] {
            assert!(!can(&format!("{entry} -> {database}:27017/TCP")));
        }
    }
    assert!(!can("client -> nats:4222/TCP"));
    assert!(!can("client -> nats:6222/TCP"));
    assert!(!can("auth -> nats:6222/TCP"), "the routes are the servers'");
    assert!(!can("client -> expiration-redis:6379/TCP"));
    assert!(!can("tickets -> orders-mongo:27017/TCP"));
    assert!(!can("orders-mongo -> tickets-mongo:27017/TCP"));
    for entry in ["ingress-nginx", "gateway"] {
        assert!(
            !can(&format!("{entry} -> nats:8222/TCP")),
            "monitoring: the kubelet's only"
        );
    }
    assert!(!can("ingress-nginx-admission -> auth:3000/TCP"));
    // The metrics port is Prometheus' alone, and Prometheus reaches nothing else of ours.
    for service in ["auth", "payments", "expiration", "client"] {
        for other in ["ingress-nginx", "gateway", "elsewhere", "tickets"] {
            assert!(!can(&format!("{other} -> {service}:9464/TCP")), "{other}");
        }
    }
    let from_prometheus: Vec<&String> = allowed
        .iter()
        .filter(|c| c.starts_with("prometheus -> ") && !c.ends_with(":9464/TCP"))
        .collect();
    assert!(from_prometheus.is_empty(), "{from_prometheus:?}");
    assert!(
        !can("elsewhere -> nats:4222/TCP"),
        "a label from another namespace"
    );
    assert!(!can("payments -> metadata:80/TCP"));
    assert!(!can("payments -> node:10250/TCP"));
    assert!(
        !can("orders -> tickets:3000/TCP"),
        "services never call each other"
    );
    let internet: Vec<&String> = allowed
        .iter()
        .filter(|c| c.contains("-> internet:"))
        .collect();
    assert_eq!(internet, ["payments -> internet:443/TCP"]);
}

#[test]
fn every_pod_reaches_exactly_what_the_table_allows() {
    let allowed = reachability(dev());
    let mut expected = allowed_everywhere();
    // ingress-nginx's controller reaches the HTTP services, and the client calls the API
    // through it.
    for service in HTTP_SERVICES {
        expected.insert(format!("ingress-nginx -> {service}:3000/TCP"));
    }
    expected.insert("client -> ingress-nginx:80/TCP".to_owned());
    expected.insert("client -> ingress-nginx:443/TCP".to_owned());
    assert_reachability(&allowed, &expected);
    assert_the_ones_that_matter_most_are_denied(&allowed);
}

#[test]
fn production_routes_through_the_gateway_and_lets_the_members_of_each_set_talk() {
    let allowed = reachability(prod());
    let mut expected = allowed_everywhere();
    // The Gateway reaches the HTTP services, and the client calls the API through it (or
    // through its load balancer's address); the Gateway reaches cert-manager's solver.
    for service in HTTP_SERVICES {
        expected.insert(format!("gateway -> {service}:3000/TCP"));
    }
    expected.insert("client -> gateway:443/TCP".to_owned());
    expected.insert("client -> load-balancer:443/TCP".to_owned());
    expected.insert("gateway -> acme-solver:8089/TCP".to_owned());
    // NATS' servers route to each other; each replica set's members replicate from each
    // other; all of them find each other by name.
    expected.insert("nats -> nats:6222/TCP".to_owned());
    for member in [
        "nats",
        "auth-mongo",
        "tickets-mongo",
        "orders-mongo",
        "payments-mongo",
    ] {
        if member != "nats" {
            expected.insert(format!("{member} -> {member}:27017/TCP"));
        }
        for protocol in ["UDP", "TCP"] {
            expected.insert(format!("{member} -> kube-dns:53/{protocol}"));
        }
    }
    assert_reachability(&allowed, &expected);
    assert_the_ones_that_matter_most_are_denied(&allowed);
    assert!(
        !allowed
            .iter()
            .any(|connection| connection.contains("ingress-nginx")),
        "no ingress-nginx in production"
    );

    // The client's way out is one address, not the internet.
    let policy = prod().get("NetworkPolicy", "client-egress-load-balancer");
    let cidrs: Vec<&str> = items(&policy["spec"]["egress"])
        .iter()
        .flat_map(|rule| items(&rule["to"]))
        .map(|peer| text(&peer["ipBlock"]["cidr"]))
        .collect();
    assert_eq!(cidrs.len(), 1);
    assert!(cidrs[0].ends_with("/32"), "{cidrs:?}");
}

#[test]
fn every_pod_is_denied_by_default_and_in_dev_only_the_services_resolve_names() {
    for k8s in overlays() {
        let deny = k8s.get("NetworkPolicy", "default-deny");
        assert_eq!(
            deny["spec"]["podSelector"],
            Value::from(serde_yaml::Mapping::new())
        );
        assert_eq!(strings(&deny["spec"]["policyTypes"]), ["Ingress", "Egress"]);
        assert!(deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null());
    }

    let allowed = reachability(dev());
    let resolvers: BTreeSet<&str> = allowed
        .iter()
        .filter_map(|connection| connection.strip_suffix(" -> kube-dns:53/UDP"))
        .collect();
    let services: BTreeSet<&str> = crate::services::SERVICES
        .iter()
        .map(|service| service.name)
        .collect();
    assert_eq!(resolvers, services);
}

#[test]
fn the_model_reads_selectors_ranges_and_ports_as_kubernetes_does() {
    let labels = BTreeMap::from([("app".to_owned(), "nats".to_owned())]);
    let selector: Value = serde_yaml::from_str(
        "{matchExpressions: [{key: app, operator: In, values: [nats, redis]}]}",
    )
    .unwrap();
    assert!(selects(&selector, &labels));
    assert!(selects(&serde_yaml::from_str("{}").unwrap(), &labels));
    assert!(!selects(
        &serde_yaml::from_str("{matchLabels: {app: redis}}").unwrap(),
        &labels
    ));
    assert!(in_range(Ipv4Addr::new(10, 1, 2, 3), "10.0.0.0/8"));
    assert!(!in_range(Ipv4Addr::new(11, 0, 0, 1), "10.0.0.0/8"));
    assert!(in_range(Ipv4Addr::new(8, 8, 8, 8), "0.0.0.0/0"));
    assert!(in_range(Ipv4Addr::new(203, 0, 113, 10), "203.0.113.10/32"));
    let port = (8222, "TCP", "monitoring".to_owned());
    let by_name: Value = serde_yaml::from_str("[{port: monitoring}]").unwrap();
    let udp: Value = serde_yaml::from_str("[{protocol: UDP, port: 8222}]").unwrap();
    assert!(port_allowed(&by_name, &port));
    assert!(!port_allowed(&udp, &port));
    assert!(port_allowed(&Value::Null, &port));

    // A CiliumNetworkPolicy reads as the NetworkPolicy allowing the same.
    let cilium: Value = serde_yaml::from_str(
        "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: p},
          spec: {endpointSelector: {matchLabels: {app: nats}},
                 ingress: [{fromEntities: [ingress], toPorts: [{ports: [{port: '4222', protocol: TCP}]}]}]}}",
    )
    .unwrap();
    let policy = as_network_policy(&cilium);
    assert_eq!(strings(&policy["spec"]["policyTypes"]), ["Ingress"]);
    assert!(selects(&policy["spec"]["podSelector"], &labels));
    let rule = &policy["spec"]["ingress"][0];
    assert_eq!(text(&rule["from"][0]["entity"]), "ingress");
    assert!(port_allowed(&rule["ports"], &(4222, "TCP", String::new())));
    assert!(!port_allowed(&rule["ports"], &(8222, "TCP", String::new())));
    let gateway = world()
        .into_iter()
        .find(|endpoint| endpoint.name == "gateway")
        .unwrap();
    assert!(peer_is(&rule["from"][0], &gateway));
    // No label selector or address range selects an entity.
    let everything: Value = serde_yaml::from_str("{ipBlock: {cidr: 0.0.0.0/0}}").unwrap();
    assert!(!peer_is(&everything, &gateway));
}
