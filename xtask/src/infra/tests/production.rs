//! What only production has: every service at two replicas or more under an autoscaler, with a
//! disruption budget and spread across nodes; images pinned to a commit, never `latest`; NATS a
//! three-server JetStream cluster with the streams on all three; each database a replica set of
//! three. The rest of every pod (probes, limits, security contexts) is checked for both overlays
//! by [`super::cluster`].

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::*;
use crate::services::SERVICES;

/// The members of NATS' cluster and of each replica set in production.
const MEMBERS: u64 = 3;

/// The least replicas of each service in production.
const MIN_REPLICAS: u64 = 2;

/// The object of `kind` in production whose selector (or target) picks `app`'s pods.
fn by_app(kind: &str, app: &str) -> Vec<&'static Value> {
    prod()
        .objects
        .iter()
        .filter(|object| text(&object["kind"]) == kind)
        .filter(|object| text(&object["spec"]["selector"]["matchLabels"]["app"]) == app)
        .collect()
}

/// The one spread constraint of a workload's pods.
fn spread(workload: &Value) -> &Value {
    let name = text(&workload["metadata"]["name"]);
    let [constraint] = items(&workload["spec"]["template"]["spec"]["topologySpreadConstraints"])
    else {
        panic!("{name}: one topology spread constraint")
    };
    assert_eq!(
        text(&constraint["topologyKey"]),
        "kubernetes.io/hostname",
        "{name}: across nodes"
    );
    assert_eq!(constraint["maxSkew"].as_u64(), Some(1), "{name}");
    // Cordoned and tainted nodes do not count, or a drain would block the spread.
    assert_eq!(text(&constraint["nodeTaintsPolicy"]), "Honor", "{name}");
    // Among the pods of the platform, then of the pod's own app: the label the base puts on
    // every pod, and the keys whose values come from the pod itself.
    let labels = &workload["spec"]["template"]["metadata"]["labels"];
    let selector = &constraint["labelSelector"]["matchLabels"];
    for (key, value) in selector.as_mapping().unwrap() {
        assert_eq!(
            &labels[text(key)],
            value,
            "{name}: the selector picks its own pods"
        );
    }
    assert!(
        strings(&constraint["matchLabelKeys"]).contains(&"app"),
        "{name}"
    );
    constraint
}

#[test]
fn every_service_runs_two_replicas_or_more_under_an_autoscaler_and_a_disruption_budget() {
    for service in SERVICES {
        let name = service.name;
        let deployment = prod().get("Deployment", &format!("{name}-depl"));
        // The autoscaler owns the count: applying the manifests must not reset it.
        assert!(
            deployment["spec"]["replicas"].is_null(),
            "{name}: the HorizontalPodAutoscaler sets the replicas"
        );
        let autoscalers: Vec<&Value> = prod()
            .of_kind("HorizontalPodAutoscaler")
            .filter(|hpa| {
                let target = &hpa["spec"]["scaleTargetRef"];
                text(&target["kind"]) == "Deployment"
                    && text(&target["name"]) == format!("{name}-depl")
            })
            .collect();
        let [hpa] = autoscalers[..] else {
            panic!("{name}: one autoscaler")
        };
        assert_eq!(text(&hpa["apiVersion"]), "autoscaling/v2");
        let min = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
        let max = hpa["spec"]["maxReplicas"].as_u64().unwrap_or(0);
        assert!(min >= MIN_REPLICAS && max > min, "{name}: {min}..{max}");
        // On the CPU the pods ask for, which every container states (cluster.rs).
        let [metric] = items(&hpa["spec"]["metrics"]) else {
            panic!("{name}: one metric")
        };
        assert_eq!(text(&metric["resource"]["name"]), "cpu");
        assert_eq!(text(&metric["resource"]["target"]["type"]), "Utilization");

        let [pdb] = by_app("PodDisruptionBudget", name)[..] else {
            panic!("{name}: one PodDisruptionBudget")
        };
        // One pod at a time: with two, one keeps serving.
        assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1), "{name}");

        let constraint = spread(deployment);
        // A preference: with fewer nodes than replicas, the replicas still run.
        assert_eq!(text(&constraint["whenUnsatisfiable"]), "ScheduleAnyway");
        assert!(strings(&constraint["matchLabelKeys"]).contains(&"pod-template-hash"));
    }
    // Dev runs one of each, and nothing of the sort.
    for kind in ["HorizontalPodAutoscaler", "PodDisruptionBudget"] {
        assert!(dev().of_kind(kind).next().is_none(), "{kind}");
    }
}

#[test]
fn production_runs_each_service_at_the_exact_image_of_a_commit_never_latest() {
    let kustomization = document(&format!(
        "{}/kustomization.yaml",
        kustomize::overlay_dir("prod")
    ));
    let pinned: BTreeMap<&str, &str> = items(&kustomization["images"])
        .iter()
        .map(|image| (text(&image["name"]), text(&image["newTag"])))
        .collect();
    for workload in prod().workloads() {
        let name = text(&workload["metadata"]["name"]);
        for container in containers(&workload["spec"]["template"]["spec"]) {
            let reference = text(&container["image"]);
            let (repository, tag) = image_and_tag(reference);
            let tag = tag.unwrap_or_else(|| panic!("{name}: {reference} has no tag (latest)"));
            assert_ne!(tag, "latest", "{name}: {reference}");
            if repository.starts_with(IMAGE_PREFIX) {
                // Ours: the tag the deploy workflows set (workflows.rs).
                assert_eq!(pinned.get(repository), Some(&tag), "{name}");
            }
        }
    }
    assert_eq!(pinned.len(), SERVICES.len());
}

#[test]
fn nats_is_a_three_server_jetstream_cluster_keeping_the_streams_on_all_three() {
    let nats = prod().get("StatefulSet", "nats");
    assert_eq!(nats["spec"]["replicas"].as_u64(), Some(MEMBERS));
    assert_eq!(text(&nats["spec"]["serviceName"]), "nats-cluster");
    let headless = prod().get("Service", "nats-cluster");
    assert_eq!(text(&headless["spec"]["clusterIP"]), "None");
    assert_eq!(
        text(&spread(nats)["whenUnsatisfiable"]),
        "DoNotSchedule",
        "never two servers of three on one node while a third node is there"
    );
    let [pdb] = by_app("PodDisruptionBudget", "nats")[..] else {
        panic!("one PodDisruptionBudget for NATS")
    };
    assert_eq!(
        pdb["spec"]["maxUnavailable"].as_u64(),
        Some(1),
        "a majority stays"
    );

    // Each server names itself by its pod, which the configuration reads.
    let container = main_container(nats);
    assert_eq!(environment(container)["POD_NAME"], "field:metadata.name");
    let config = &prod().get("ConfigMap", "nats-config")["data"];
    let cluster = text(&config["cluster.conf"]);
    assert!(
        cluster
            .lines()
            .any(|line| line.trim() == "server_name: $POD_NAME"),
        "{cluster}"
    );
    assert!(cluster.contains("cluster {") && cluster.contains("name: ticketing"));
    let port = items(&container["ports"])
        .iter()
        .find(|port| text(&port["name"]) == "cluster")
        .and_then(|port| port["containerPort"].as_u64())
        .unwrap();
    assert!(
        cluster.contains(&format!("listen: 0.0.0.0:{port}")),
        "{cluster}"
    );
    // A route to every server, through the headless Service.
    let routes: Vec<&str> = cluster
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("nats://"))
        .collect();
    let expected: Vec<String> = (0..MEMBERS)
        .map(|ordinal| format!("nats://nats-{ordinal}.nats-cluster:{port}"))
        .collect();
    assert_eq!(routes, expected);
    // Dev: one server, no cluster, the same users.
    let dev_config = &dev().get("ConfigMap", "nats-config")["data"];
    assert!(!text(&dev_config["cluster.conf"]).contains("cluster {"));
    assert_eq!(dev_config["auth.conf"], config["auth.conf"]);
    assert_eq!(dev_config["nats.conf"], config["nats.conf"]);

    // The streams on every server: every service says the same number.
    let replicas = |manifests: &Manifests| {
        text(&manifests.get("ConfigMap", "ticketing-config")["data"]["EVENTS_REPLICAS"]).to_owned()
    };
    assert_eq!(replicas(prod()), MEMBERS.to_string());
    assert_eq!(replicas(dev()), "1");
}

#[test]
fn each_database_is_a_replica_set_of_three_spread_across_nodes() {
    for service in SERVICES.iter().filter(|service| service.database.is_some()) {
        let name = format!("{}-mongo", service.name);
        let set = prod().get("StatefulSet", &name);
        assert_eq!(set["spec"]["replicas"].as_u64(), Some(MEMBERS), "{name}");
        assert_eq!(text(&spread(set)["whenUnsatisfiable"]), "DoNotSchedule");
        let [pdb] = by_app("PodDisruptionBudget", &name)[..] else {
            panic!("{name}: one PodDisruptionBudget")
        };
        assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1), "{name}");
        // The members' names: cluster.rs checks MONGO_MEMBERS against the replica count, and
        // the documented MONGO_URI against MONGO_MEMBERS.
    }
}
