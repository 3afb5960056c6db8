//! infra/k8s: each service's Deployment, Service and environment; the databases, NATS and Redis;
//! what every pod must have; names that must agree across the manifests.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::*;
use crate::services::{SERVICES, Service};

/// Whether the service publishes or consumes events.
fn uses_bus(service: &Service) -> bool {
    matches!(
        service.name,
        "tickets" | "orders" | "payments" | "expiration"
    )
}

/// Whether the service reads session tokens.
fn verifies_sessions(service: &Service) -> bool {
    matches!(service.name, "auth" | "tickets" | "orders" | "payments")
}

/// Whether the service answers the API (and so has a Service); expiration only has probes.
fn has_service(service: &Service) -> bool {
    service.name != "expiration"
}

/// The environment of CONTRACT A.1 and the README's configuration table, per service.
fn expected_environment(service: &Service) -> BTreeMap<String, String> {
    let name = service.name;
    let mut env: BTreeMap<&str, String> = [
        ("PORT", "=3000"),
        ("LOG_FORMAT", "=json"),
        ("RUST_LOG", "=info"),
    ]
    .into_iter()
    .map(|(key, value)| (key, value.to_owned()))
    .collect();
    if let Some(database) = service.database {
        env.insert(
            "MONGO_URI",
            format!("=mongodb://{name}-mongo-srv:27017/{database}?directConnection=true"),
        );
    }
    if uses_bus(service) {
        env.insert("NATS_URL", "=nats://nats-srv:4222".to_owned());
        env.insert("NATS_CLIENT_ID", "field:metadata.name".to_owned());
    }
    if verifies_sessions(service) {
        env.insert("JWT_KEY", "secret:jwt-secret/JWT_KEY".to_owned());
    }
    let own: &[(&str, &str)] = match name {
        "auth" => &[("COOKIE_SECURE", "config:ticketing-config/COOKIE_SECURE")],
        "orders" => &[("EXPIRATION_WINDOW_SECONDS", "=900")],
        "payments" => &[("STRIPE_KEY", "secret:stripe-secret/STRIPE_KEY")],
        "expiration" => &[("REDIS_HOST", "=expiration-redis-srv")],
        "client" => &[
            ("API_BASE_URL", "config:ticketing-config/API_BASE_URL"),
            (
                "STRIPE_PUBLISHABLE_KEY",
                "secret?:stripe-secret/STRIPE_PUBLISHABLE_KEY",
            ),
        ],
        _ => &[],
    };
    for (key, value) in own {
        env.insert(key, (*value).to_owned());
    }
    env.into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

#[test]
fn every_service_has_its_deployment_and_service_named_as_the_original() {
    let k8s = k8s();
    for service in SERVICES {
        let name = service.name;
        let file = format!("infra/k8s/{name}-depl.yaml");
        let deployment = k8s.get("Deployment", &format!("{name}-depl"));
        assert_eq!(k8s.file_of("Deployment", &format!("{name}-depl")), file);
        assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1), "{name}");
        assert_eq!(
            text(&deployment["spec"]["selector"]["matchLabels"]["app"]),
            name
        );
        let container = main_container(deployment);
        assert_eq!(text(&container["name"]), name);
        assert_eq!(text(&container["image"]), image(&service));
        let ports = items(&container["ports"]);
        assert_eq!(ports.len(), 1, "{name}");
        assert_eq!(text(&ports[0]["name"]), "http");
        assert_eq!(ports[0]["containerPort"].as_u64(), Some(3000));

        let srv = k8s.find("Service", &format!("{name}-srv"));
        if !has_service(&service) {
            assert!(srv.is_none(), "{name} has no HTTP API, so no Service");
            continue;
        }
        let srv = srv.unwrap_or_else(|| panic!("no Service {name}-srv"));
        assert_eq!(k8s.file_of("Service", &format!("{name}-srv")), file);
        assert_eq!(text(&srv["spec"]["type"]), "ClusterIP");
        assert_eq!(text(&srv["spec"]["selector"]["app"]), name);
        let ports = items(&srv["spec"]["ports"]);
        assert_eq!(ports.len(), 1, "{name}");
        assert_eq!(text(&ports[0]["name"]), name);
        assert_eq!(ports[0]["port"].as_u64(), Some(3000));
        assert_eq!(text(&ports[0]["targetPort"]), "http");
    }
}

#[test]
fn every_service_gets_exactly_the_environment_it_needs() {
    let k8s = k8s();
    for service in SERVICES {
        let deployment = k8s.get("Deployment", &format!("{}-depl", service.name));
        assert_eq!(
            environment(main_container(deployment)),
            expected_environment(&service),
            "{}",
            service.name
        );
    }
}

#[test]
fn services_are_probed_on_their_health_routes() {
    let k8s = k8s();
    for service in SERVICES {
        let container = main_container(k8s.get("Deployment", &format!("{}-depl", service.name)));
        // The client's pages need nothing but the ingress: it is ready when it is up.
        let readiness = if service.name == "client" {
            "/healthz"
        } else {
            "/readyz"
        };
        for (probe, path) in [("readinessProbe", readiness), ("livenessProbe", "/healthz")] {
            let get = &container[probe]["httpGet"];
            assert_eq!(text(&get["path"]), path, "{} {probe}", service.name);
            assert_eq!(text(&get["port"]), "http", "{} {probe}", service.name);
        }
    }
}

#[test]
fn every_pod_runs_as_non_root_with_probes_resources_and_no_privileges() {
    let k8s = k8s();
    let deployments: Vec<&Value> = k8s.of_kind("Deployment").collect();
    assert!(
        deployments.len() >= SERVICES.len() + 6,
        "services, 4 databases, NATS, Redis"
    );
    for deployment in deployments {
        let name = text(&deployment["metadata"]["name"]);
        let pod = &deployment["spec"]["template"]["spec"];
        let security = &pod["securityContext"];
        assert_eq!(security["runAsNonRoot"].as_bool(), Some(true), "{name}");
        assert!(
            security["runAsUser"].as_i64().unwrap_or(0) > 0,
            "{name}: a non-root uid"
        );
        assert_eq!(
            text(&security["seccompProfile"]["type"]),
            "RuntimeDefault",
            "{name}"
        );
        assert_eq!(
            text(&deployment["spec"]["template"]["metadata"]["labels"]["app"]),
            text(&deployment["spec"]["selector"]["matchLabels"]["app"]),
            "{name}: the selector matches the pods"
        );
        for container in containers(pod) {
            let what = format!("{name}/{}", text(&container["name"]));
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        !container["resources"][bound][resource].is_null(),
                        "{what}: resources.{bound}.{resource}"
                    );
                }
            }
            let security = &container["securityContext"];
            assert_eq!(
                security["allowPrivilegeEscalation"].as_bool(),
                Some(false),
                "{what}"
            );
            assert_eq!(
                strings(&security["capabilities"]["drop"]),
                ["ALL"],
                "{what}"
            );
            let image = text(&container["image"]);
            assert!(
                image.starts_with(IMAGE_PREFIX) || image.contains(':'),
                "{what}: third-party images are pinned to a tag"
            );
        }
        for container in items(&pod["containers"]) {
            for probe in ["readinessProbe", "livenessProbe"] {
                assert!(!container[probe].is_null(), "{name}: {probe}");
            }
        }
    }
}

#[test]
fn services_select_pods_and_name_their_ports() {
    let k8s = k8s();
    for srv in k8s.of_kind("Service") {
        let name = text(&srv["metadata"]["name"]);
        let app = text(&srv["spec"]["selector"]["app"]);
        let deployment = k8s
            .of_kind("Deployment")
            .find(|deployment| {
                text(&deployment["spec"]["template"]["metadata"]["labels"]["app"]) == app
            })
            .unwrap_or_else(|| panic!("Service {name} selects no Deployment's pods"));
        let container_ports: BTreeSet<&str> = items(&main_container(deployment)["ports"])
            .iter()
            .map(|port| text(&port["name"]))
            .collect();
        for port in items(&srv["spec"]["ports"]) {
            let target = text(&port["targetPort"]);
            assert!(
                container_ports.contains(target),
                "Service {name}: no container port named {target:?}"
            );
        }
    }
}

#[test]
fn volumes_and_claims_and_mounts_match() {
    let k8s = k8s();
    let claims: BTreeSet<&str> = k8s
        .of_kind("PersistentVolumeClaim")
        .map(|claim| text(&claim["metadata"]["name"]))
        .collect();
    for deployment in k8s.of_kind("Deployment") {
        let name = text(&deployment["metadata"]["name"]);
        let pod = &deployment["spec"]["template"]["spec"];
        let volumes: BTreeSet<&str> = items(&pod["volumes"])
            .iter()
            .map(|volume| {
                let claim = text(&volume["persistentVolumeClaim"]["claimName"]);
                assert!(claims.contains(claim), "{name}: no claim {claim:?}");
                text(&volume["name"])
            })
            .collect();
        for container in containers(pod) {
            for mount in items(&container["volumeMounts"]) {
                assert!(volumes.contains(text(&mount["name"])), "{name}: {mount:?}");
            }
        }
        if !volumes.is_empty() {
            assert_eq!(
                text(&deployment["spec"]["strategy"]["type"]),
                "Recreate",
                "{name}: one pod at a time owns a ReadWriteOnce volume"
            );
        }
    }
}

/// The volume-backed paths a container mounts.
fn mounts(container: &Value) -> Vec<&str> {
    items(&container["volumeMounts"])
        .iter()
        .map(|mount| text(&mount["mountPath"]))
        .collect()
}

#[test]
fn every_database_is_a_one_node_replica_set_initiated_by_a_sidecar_on_a_volume() {
    let k8s = k8s();
    for service in SERVICES {
        let Some(_) = service.database else { continue };
        let name = format!("{}-mongo", service.name);
        let deployment = k8s.get("Deployment", &format!("{name}-depl"));
        assert_eq!(
            k8s.file_of("Deployment", &format!("{name}-depl")),
            format!("infra/k8s/{name}-depl.yaml")
        );
        let pod = &deployment["spec"]["template"]["spec"];
        let mongo = main_container(deployment);
        assert_eq!(text(&mongo["name"]), name);
        assert!(text(&mongo["image"]).starts_with("mongo:"));
        let args = strings(&mongo["args"]);
        assert!(
            args.windows(2).any(|pair| pair == ["--replSet", "rs0"]),
            "{name}: {args:?}"
        );
        assert_eq!(mounts(mongo), ["/data/db"], "{name}");
        // Ready only as the primary, when the services can write.
        assert!(
            strings(&mongo["readinessProbe"]["exec"]["command"])
                .concat()
                .contains("isWritablePrimary"),
            "{name}"
        );

        let [init] = items(&pod["initContainers"]) else {
            panic!("{name}: one init container initiates the replica set")
        };
        assert_eq!(text(&init["image"]), text(&mongo["image"]), "{name}");
        assert_eq!(text(&init["restartPolicy"]), "Always", "{name}: a sidecar");
        let script = strings(&init["args"]).concat();
        for part in [
            "rs.initiate",
            r#"_id: "rs0""#,
            r#"host: "localhost:27017""#,
            "isWritablePrimary",
        ] {
            assert!(script.contains(part), "{name}: the init script has {part}");
        }

        let srv = k8s.get("Service", &format!("{name}-srv"));
        let ports = items(&srv["spec"]["ports"]);
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0]["port"].as_u64(), Some(27017), "{name}");
        let claim = k8s.get("PersistentVolumeClaim", &format!("{name}-pvc"));
        assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteOnce"]);
    }
}

#[test]
fn the_databases_are_one_manifest_with_each_services_name() {
    let with_databases: Vec<&Service> = SERVICES
        .iter()
        .filter(|service| service.database.is_some())
        .collect();
    let template = |service: &Service| {
        read(&format!("infra/k8s/{}-mongo-depl.yaml", service.name))
            .replace(service.name, "{service}")
    };
    let first = template(with_databases[0]);
    for service in &with_databases[1..] {
        assert_eq!(
            template(service),
            first,
            "{}-mongo-depl.yaml differs from {}-mongo-depl.yaml by more than the name",
            service.name,
            with_databases[0].name
        );
    }
}

#[test]
fn nats_runs_jetstream_with_its_store_on_a_volume() {
    let k8s = k8s();
    let deployment = k8s.get("Deployment", "nats-depl");
    let nats = main_container(deployment);
    assert!(text(&nats["image"]).starts_with("nats:"));
    let args = strings(&nats["args"]);
    assert!(args.contains(&"-js"), "{args:?}");
    let store = args
        .windows(2)
        .find(|pair| pair[0] == "-sd")
        .map(|pair| pair[1])
        .unwrap_or_else(|| panic!("no -sd in {args:?}"));
    assert_eq!(mounts(nats), [store]);
    assert!(
        args.windows(2).any(|pair| pair == ["-p", "4222"]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|pair| pair == ["-m", "8222"]),
        "{args:?}"
    );

    let srv = k8s.get("Service", "nats-srv");
    let ports: BTreeMap<&str, u64> = items(&srv["spec"]["ports"])
        .iter()
        .map(|port| (text(&port["name"]), port["port"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(
        ports,
        BTreeMap::from([("client", 4222), ("monitoring", 8222)])
    );
}

#[test]
fn expiration_keeps_its_jobs_in_a_persistent_redis() {
    let k8s = k8s();
    let redis = main_container(k8s.get("Deployment", "expiration-redis-depl"));
    assert!(text(&redis["image"]).starts_with("redis:"));
    assert_eq!(strings(&redis["args"]), ["--appendonly", "yes"]);
    assert_eq!(mounts(redis), ["/data"]);
    let srv = k8s.get("Service", "expiration-redis-srv");
    assert_eq!(srv["spec"]["ports"][0]["port"].as_u64(), Some(6379));
}

#[test]
fn every_host_a_service_is_given_is_a_service_of_the_cluster() {
    let k8s = k8s();
    let services: BTreeMap<&str, BTreeSet<u64>> = k8s
        .of_kind("Service")
        .map(|srv| {
            let ports = items(&srv["spec"]["ports"])
                .iter()
                .filter_map(|port| port["port"].as_u64())
                .collect();
            (text(&srv["metadata"]["name"]), ports)
        })
        .collect();
    let mut checked = 0;
    for deployment in k8s.of_kind("Deployment") {
        let env = environment(main_container(deployment));
        for (key, value) in &env {
            let Some(value) = value.strip_prefix('=') else {
                continue;
            };
            let address = match value.split_once("://") {
                Some((_, rest)) => rest.split(['/', '?']).next().unwrap_or_default(),
                None if key.ends_with("_HOST") => value,
                None => continue,
            };
            let (host, port) = address.split_once(':').unwrap_or((address, ""));
            let ports = services
                .get(host)
                .unwrap_or_else(|| panic!("{key}={value}: no Service {host}"));
            if let Ok(port) = port.parse::<u64>() {
                assert!(
                    ports.contains(&port),
                    "{key}={value}: {host} has no port {port}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 9, "MONGO_URI ×4, NATS_URL ×4, REDIS_HOST");
}

#[test]
fn the_config_both_overlays_provide_has_every_key_the_services_read() {
    let k8s = k8s();
    let dev = Manifests::load("infra/k8s-dev");
    let prod = Manifests::load("infra/k8s-prod");
    let keys = |manifests: &Manifests| -> BTreeSet<String> {
        let config = manifests.get("ConfigMap", "ticketing-config");
        config["data"]
            .as_mapping()
            .map(|data| data.keys().map(|key| text(key).to_owned()).collect())
            .unwrap_or_default()
    };
    let read: BTreeSet<String> = k8s
        .of_kind("Deployment")
        .flat_map(|deployment| environment(main_container(deployment)).into_values())
        .filter_map(|value| {
            value
                .strip_prefix("config:ticketing-config/")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(keys(&dev), read);
    assert_eq!(keys(&prod), read);
    assert!(
        k8s.find("ConfigMap", "ticketing-config").is_none(),
        "it differs between dev and prod, so it lives in their directories"
    );
}
