//! Both overlays, rendered: each service's Deployment, Service and environment, its credentials
//! from Secrets; the databases (with their users), NATS (with its users) and Redis (with its
//! password); what every pod must have; names that must agree across the manifests. What only
//! production has (more replicas, the NATS cluster, three-member replica sets) is in
//! [`super::production`].

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::*;
use crate::services::{SERVICES, Service};

/// Whether the service uses the bus (events, or auth's revocations bucket).
fn uses_bus(service: &Service) -> bool {
    service.bus
}

/// Whether the service reads session tokens.
fn verifies_sessions(service: &Service) -> bool {
    matches!(service.name, "auth" | "tickets" | "orders" | "payments")
}

/// Whether the service answers the API (and so has a Service); expiration only has probes.
fn has_service(service: &Service) -> bool {
    service.name != "expiration"
}

/// The environment each service gets in `overlay`: the original's settings (docs/decisions.md)
/// and the README's configuration table.
fn expected_environment(overlay: &str, service: &Service) -> BTreeMap<String, String> {
    let name = service.name;
    let mut env: BTreeMap<&str, String> = [
        ("PORT", "=3000"),
        ("METRICS_PORT", "=9464"),
        ("LOG_FORMAT", "=json"),
        ("RUST_LOG", "=info"),
    ]
    .into_iter()
    .map(|(key, value)| (key, value.to_owned()))
    .collect();
    if service.database.is_some() {
        // The URI holds the service user's password: all of it is secret.
        env.insert("MONGO_URI", format!("secret:{name}-mongo-secret/MONGO_URI"));
    }
    if uses_bus(service) {
        env.insert("NATS_URL", "=nats://nats-srv:4222".to_owned());
        env.insert("NATS_CLIENT_ID", "field:metadata.name".to_owned());
        env.insert("NATS_USER", format!("={name}"));
        env.insert("NATS_PASSWORD", nats_password(name));
        env.insert(
            "EVENTS_REPLICAS",
            "config:ticketing-config/EVENTS_REPLICAS".to_owned(),
        );
    }
    if verifies_sessions(service) {
        env.insert("JWT_KEY", "secret:jwt-secret/JWT_KEY".to_owned());
    }
    let own: &[(&str, &str)] = match name {
        "auth" => &[
            ("COOKIE_SECURE", "config:ticketing-config/COOKIE_SECURE"),
            (
                "TRUSTED_FORWARDERS",
                "config:ticketing-config/TRUSTED_FORWARDERS",
            ),
            ("ADMIN_EMAILS", "config:ticketing-config/ADMIN_EMAILS"),
        ],
        "orders" => &[("EXPIRATION_WINDOW_SECONDS", "=900")],
        "payments" => &[("STRIPE_KEY", "secret:stripe-secret/STRIPE_KEY")],
        "expiration" => &[
            ("REDIS_HOST", "=expiration-redis-srv"),
            (
                "REDIS_PASSWORD",
                "secret:expiration-redis-secret/REDIS_PASSWORD",
            ),
        ],
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
    if name == "payments" {
        env.insert("STRIPE_WEBHOOK_SECRET", stripe_webhook_secret(overlay));
    }
    env.into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// Where payments' Stripe webhook signing secret comes from: stripe-secret, beside STRIPE_KEY.
/// Production cannot start payments without it; dev can, and then runs without PaymentIntents
/// (infra/k8s/overlays/dev/patches/payments-stripe-webhook.yaml).
fn stripe_webhook_secret(overlay: &str) -> String {
    let optional = if overlay == "dev" { "?" } else { "" };
    format!("secret{optional}:stripe-secret/STRIPE_WEBHOOK_SECRET")
}

/// Where a bus user's password comes from, for the service and for the NATS server alike.
fn nats_password(user: &str) -> String {
    format!("secret:{user}-nats-secret/NATS_PASSWORD")
}

#[test]
fn every_service_has_its_deployment_and_service_named_as_the_original() {
    for manifests in overlays() {
        let overlay = manifests.overlay;
        for service in SERVICES {
            let name = service.name;
            let deployment = manifests.get("Deployment", &format!("{name}-depl"));
            assert_eq!(
                text(&deployment["spec"]["selector"]["matchLabels"]["app"]),
                name
            );
            let container = main_container(deployment);
            assert_eq!(text(&container["name"]), name);
            // Production pins a tag (production.rs); dev takes skaffold's.
            let (repository, _tag) = image_and_tag(text(&container["image"]));
            assert_eq!(repository, image(&service), "{overlay}");
            let ports: Vec<(&str, Option<u64>)> = items(&container["ports"])
                .iter()
                .map(|port| (text(&port["name"]), port["containerPort"].as_u64()))
                .collect();
            assert_eq!(
                ports,
                [("http", Some(3000)), ("metrics", Some(9464))],
                "{name}"
            );

            let srv = manifests.find("Service", &format!("{name}-srv"));
            if !has_service(&service) {
                assert!(srv.is_none(), "{name} has no HTTP API, so no Service");
                continue;
            }
            let srv = srv.unwrap_or_else(|| panic!("no Service {name}-srv"));
            assert_eq!(text(&srv["spec"]["type"]), "ClusterIP");
            assert_eq!(text(&srv["spec"]["selector"]["app"]), name);
            let ports = items(&srv["spec"]["ports"]);
            assert_eq!(ports.len(), 1, "{name}");
            assert_eq!(text(&ports[0]["name"]), name);
            assert_eq!(ports[0]["port"].as_u64(), Some(3000));
            assert_eq!(text(&ports[0]["targetPort"]), "http");
        }
    }
    for service in SERVICES {
        let deployment = dev().get("Deployment", &format!("{}-depl", service.name));
        assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
        assert_eq!(
            text(&main_container(deployment)["image"]),
            image(&service),
            "dev: skaffold puts in the tag of what it built"
        );
    }
}

#[test]
fn every_service_gets_exactly_the_environment_it_needs() {
    for manifests in overlays() {
        for service in SERVICES {
            let deployment = manifests.get("Deployment", &format!("{}-depl", service.name));
            assert_eq!(
                environment(main_container(deployment)),
                expected_environment(manifests.overlay, &service),
                "{}: {}",
                manifests.overlay,
                service.name
            );
        }
    }
}

#[test]
fn payments_verifies_stripe_webhooks_with_the_stripe_secret_and_production_requires_it() {
    let reference = |container: &Value| -> Value {
        items(&container["env"])
            .iter()
            .find(|variable| text(&variable["name"]) == "STRIPE_WEBHOOK_SECRET")
            .map(|variable| variable["valueFrom"]["secretKeyRef"].clone())
            .unwrap_or_else(|| panic!("payments has no STRIPE_WEBHOOK_SECRET"))
    };
    for manifests in overlays() {
        let overlay = manifests.overlay;
        let env = environment(main_container(manifests.get("Deployment", "payments-depl")));
        // The same Secret as the API key: one Stripe account, made by one command.
        assert_eq!(
            env["STRIPE_KEY"], "secret:stripe-secret/STRIPE_KEY",
            "{overlay}"
        );
        assert_eq!(
            env["STRIPE_WEBHOOK_SECRET"],
            stripe_webhook_secret(overlay),
            "{overlay}"
        );
    }
    // A production pod without the key must fail to start rather than run without webhooks:
    // the reference is not optional, and the base (what any other overlay gets) says so too.
    let production = reference(main_container(prod().get("Deployment", "payments-depl")));
    assert_ne!(production["optional"].as_bool(), Some(true), "prod");
    let base = documents("infra/k8s/base/payments-depl.yaml");
    let base = base
        .iter()
        .find(|object| text(&object["kind"]) == "Deployment")
        .expect("the base's payments Deployment");
    assert_ne!(
        reference(main_container(base))["optional"].as_bool(),
        Some(true),
        "base"
    );
    // The client's publishable key stays optional (public; without it the order page offers a
    // test-card button), and no manifest sets STRIPE_JS_URL: its default is Stripe's.
    let client = environment(main_container(prod().get("Deployment", "client-depl")));
    assert_eq!(
        client["STRIPE_PUBLISHABLE_KEY"],
        "secret?:stripe-secret/STRIPE_PUBLISHABLE_KEY"
    );
    assert!(
        !client.contains_key("STRIPE_JS_URL"),
        "its default is Stripe's"
    );
}

#[test]
fn services_are_probed_on_their_health_routes() {
    for (k8s, service) in overlays()
        .into_iter()
        .flat_map(|manifests| SERVICES.iter().map(move |service| (manifests, service)))
    {
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
    for k8s in overlays() {
        every_pod_runs_as_non_root_with_probes_resources_and_no_privileges_in(k8s);
    }
}

fn every_pod_runs_as_non_root_with_probes_resources_and_no_privileges_in(k8s: &Manifests) {
    let deployments: Vec<&Value> = k8s.workloads().collect();
    assert!(
        deployments.len() >= SERVICES.len() + 6,
        "services, 4 databases, NATS, Redis"
    );
    for deployment in deployments {
        let name = text(&deployment["metadata"]["name"]);
        let pod = &deployment["spec"]["template"]["spec"];
        // No pod talks to the Kubernetes API, so none holds a token for it.
        assert_eq!(
            pod["automountServiceAccountToken"].as_bool(),
            Some(false),
            "{name}"
        );
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
            // Every image here writes only to its volumes (MongoDB and mongosh also to /tmp, an
            // emptyDir), so there is no exception to list.
            assert_eq!(
                security["readOnlyRootFilesystem"].as_bool(),
                Some(true),
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
    for k8s in overlays() {
        services_select_pods_and_name_their_ports_in(k8s);
    }
}

fn services_select_pods_and_name_their_ports_in(k8s: &Manifests) {
    for srv in k8s.of_kind("Service") {
        let name = text(&srv["metadata"]["name"]);
        let app = text(&srv["spec"]["selector"]["app"]);
        let deployment = k8s
            .workloads()
            .find(|deployment| {
                text(&deployment["spec"]["template"]["metadata"]["labels"]["app"]) == app
            })
            .unwrap_or_else(|| panic!("Service {name} selects no workload's pods"));
        // A headless Service names the pods of a StatefulSet, its governing one.
        if text(&srv["spec"]["clusterIP"]) == "None" {
            assert_eq!(text(&deployment["kind"]), "StatefulSet", "{name}");
            assert_eq!(text(&deployment["spec"]["serviceName"]), name);
            assert_eq!(
                srv["spec"]["publishNotReadyAddresses"].as_bool(),
                Some(true),
                "{name}: members find each other before they are ready"
            );
        }
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
    for k8s in overlays() {
        volumes_and_claims_and_mounts_match_in(k8s);
    }
}

fn volumes_and_claims_and_mounts_match_in(k8s: &Manifests) {
    let claims: BTreeSet<&str> = k8s
        .of_kind("PersistentVolumeClaim")
        .map(|claim| text(&claim["metadata"]["name"]))
        .collect();
    for deployment in k8s.workloads() {
        let name = text(&deployment["metadata"]["name"]);
        let pod = &deployment["spec"]["template"]["spec"];
        let mut persistent = false;
        // A StatefulSet's claim templates: a volume of each pod's own.
        let templates = items(&deployment["spec"]["volumeClaimTemplates"])
            .iter()
            .map(|claim| {
                assert_eq!(
                    strings(&claim["spec"]["accessModes"]),
                    ["ReadWriteOnce"],
                    "{name}"
                );
                text(&claim["metadata"]["name"])
            });
        let volumes: BTreeSet<&str> = items(&pod["volumes"])
            .iter()
            .map(|volume| {
                let what = format!("{name}: volume {}", text(&volume["name"]));
                if !volume["persistentVolumeClaim"].is_null() {
                    let claim = text(&volume["persistentVolumeClaim"]["claimName"]);
                    assert!(claims.contains(claim), "{what}: no claim {claim:?}");
                    persistent = true;
                } else if !volume["configMap"].is_null() {
                    let config = text(&volume["configMap"]["name"]);
                    assert!(
                        k8s.find("ConfigMap", config).is_some(),
                        "{what}: no {config}"
                    );
                } else {
                    // Secrets are made by hand (docs/deploy.md), never kept here.
                    assert!(
                        volume["emptyDir"].is_mapping() || volume["secret"].is_mapping(),
                        "{what}: a claim, ConfigMap, Secret or emptyDir"
                    );
                }
                text(&volume["name"])
            })
            .chain(templates)
            .collect();
        let mounted: BTreeSet<&str> = containers(pod)
            .flat_map(|container| items(&container["volumeMounts"]))
            .map(|mount| text(&mount["name"]))
            .collect();
        assert_eq!(
            mounted, volumes,
            "{name}: every volume mounted, and only those"
        );
        if persistent {
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

/// The volume of `pod` mounted at `path` in `container`, and whether read-only.
fn volume_at<'a>(pod: &'a Value, container: &Value, path: &str) -> (&'a Value, bool) {
    let what = format!("{} at {path}", text(&container["name"]));
    let mount = items(&container["volumeMounts"])
        .iter()
        .find(|mount| text(&mount["mountPath"]) == path)
        .unwrap_or_else(|| panic!("{what}: nothing mounted"));
    let volume = items(&pod["volumes"])
        .iter()
        .find(|volume| volume["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{what}: no volume {:?}", mount["name"]));
    (volume, mount["readOnly"].as_bool() == Some(true))
}

/// The claim template of `workload` (a StatefulSet) mounted at `path` in `container`: each
/// pod's own volume.
fn claim_at<'a>(workload: &'a Value, container: &Value, path: &str) -> &'a Value {
    let what = format!("{} at {path}", text(&container["name"]));
    let mount = items(&container["volumeMounts"])
        .iter()
        .find(|mount| text(&mount["mountPath"]) == path)
        .unwrap_or_else(|| panic!("{what}: nothing mounted"));
    items(&workload["spec"]["volumeClaimTemplates"])
        .iter()
        .find(|claim| claim["metadata"]["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{what}: no claim template {:?}", mount["name"]))
}

/// The members of the replica set `name` (`auth-mongo`), as its sidecar reads them.
fn members(k8s: &Manifests, name: &str) -> Vec<String> {
    text(&k8s.get("ConfigMap", "mongo-members")["data"][name])
        .split(',')
        .map(|host| host.trim().to_owned())
        .collect()
}

/// The named init container of a pod.
fn init_container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    items(&pod["initContainers"])
        .iter()
        .find(|container| text(&container["name"]) == name)
        .unwrap_or_else(|| panic!("no init container {name}"))
}

#[test]
fn every_database_is_a_replica_set_initiated_by_a_sidecar_with_a_volume_per_member() {
    for k8s in overlays() {
        for service in SERVICES {
            let Some(_) = service.database else { continue };
            let name = format!("{}-mongo", service.name);
            let what = format!("{}: {name}", k8s.overlay);
            let set = k8s.get("StatefulSet", &name);
            let pod = &set["spec"]["template"]["spec"];
            let mongo = main_container(set);
            assert_eq!(text(&mongo["name"]), name);
            assert!(text(&mongo["image"]).starts_with("mongo:"));
            let args = strings(&mongo["args"]);
            assert!(
                args.windows(2).any(|pair| pair == ["--replSet", "rs0"]),
                "{what}: {args:?}"
            );
            claim_at(set, mongo, "/data/db");
            // All members start at once: one that is not in the set yet must not hold the
            // others back.
            assert_eq!(text(&set["spec"]["podManagementPolicy"]), "Parallel");
            // Ready as the primary or a secondary: a member the driver can use.
            let readiness = strings(&mongo["readinessProbe"]["exec"]["command"]).concat();
            for part in ["isWritablePrimary", "secondary"] {
                assert!(readiness.contains(part), "{what}: {readiness}");
            }

            let inits: Vec<&str> = items(&pod["initContainers"])
                .iter()
                .map(|init| text(&init["name"]))
                .collect();
            assert_eq!(inits, ["keyfile", "replica-set-init"], "{what}");
            let sidecar = init_container(pod, "replica-set-init");
            assert_eq!(text(&sidecar["image"]), text(&mongo["image"]), "{what}");
            assert_eq!(
                text(&sidecar["restartPolicy"]),
                "Always",
                "{what}: a sidecar"
            );
            let script = strings(&sidecar["args"]).concat();
            for part in [
                // Only the first member initiates the set, with itself, and adds the others.
                r#"if [ "${HOSTNAME##*-}" = 0 ]"#,
                r#"process.env.MONGO_MEMBERS.split(",")"#,
                "rs.initiate",
                r#"_id: "rs0""#,
                "host: members[0]",
                "isWritablePrimary",
                "rs.add(host)",
                // With access control on, only the administrator may initiate the set.
                r#"--username "$MONGO_ROOT_USERNAME" --password "$MONGO_ROOT_PASSWORD""#,
                "--authenticationDatabase admin",
            ] {
                assert!(script.contains(part), "{what}: the init script has {part}");
            }
            assert_eq!(
                environment(sidecar)["MONGO_MEMBERS"],
                format!("config:mongo-members/{name}"),
                "{what}"
            );
            let replicas = set["spec"]["replicas"].as_u64().unwrap_or(1);
            let expected: Vec<String> = if replicas == 1 {
                // One member, which only it knows by name: clients use directConnection.
                vec!["localhost:27017".to_owned()]
            } else {
                (0..replicas)
                    .map(|ordinal| format!("{name}-{ordinal}.{name}-srv:27017"))
                    .collect()
            };
            assert_eq!(members(k8s, &name), expected, "{what}");

            let srv = k8s.get("Service", &format!("{name}-srv"));
            assert_eq!(text(&set["spec"]["serviceName"]), format!("{name}-srv"));
            assert_eq!(text(&srv["spec"]["clusterIP"]), "None", "{what}: headless");
            let ports = items(&srv["spec"]["ports"]);
            assert_eq!(ports.len(), 1);
            assert_eq!(ports[0]["port"].as_u64(), Some(27017), "{what}");
        }
    }
    for set in dev().of_kind("StatefulSet") {
        assert_eq!(
            set["spec"]["replicas"].as_u64(),
            Some(1),
            "dev: one member, one NATS server"
        );
    }
}

#[test]
fn every_database_has_access_control_and_the_services_user_on_first_start() {
    for k8s in overlays() {
        every_database_has_access_control_and_the_services_user_on_first_start_in(k8s);
    }
}

fn every_database_has_access_control_and_the_services_user_on_first_start_in(k8s: &Manifests) {
    for service in SERVICES {
        let Some(database) = service.database else {
            continue;
        };
        let name = format!("{}-mongo", service.name);
        let deployment = k8s.get("StatefulSet", &name);
        let pod = &deployment["spec"]["template"]["spec"];
        let mongo = main_container(deployment);
        let admin = format!("secret:{name}-admin-secret/MONGO_ROOT_PASSWORD");
        let env = environment(mongo);
        let expected: BTreeMap<String, String> = [
            ("HOME", "=/tmp".to_owned()),
            // With these the image's entrypoint turns access control on, and makes the
            // administrator on an empty volume.
            ("MONGO_INITDB_ROOT_USERNAME", "=admin".to_owned()),
            ("MONGO_INITDB_ROOT_PASSWORD", admin.clone()),
            // ... then runs mongo-init's script against this database: the service's user.
            ("MONGO_INITDB_DATABASE", format!("={database}")),
            ("MONGO_SERVICE_USER", format!("={}", service.name)),
            (
                "MONGO_SERVICE_PASSWORD",
                format!("secret:{name}-secret/MONGO_PASSWORD"),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        assert_eq!(env, expected, "{name}");
        // The service's URI comes from the Secret holding that user's password, not the
        // administrator's: the service's pod never sees the administrator's password or the key.
        let service_env = environment(main_container(
            k8s.get("Deployment", &format!("{}-depl", service.name)),
        ));
        assert_eq!(
            service_env["MONGO_URI"],
            format!("secret:{name}-secret/MONGO_URI")
        );
        let sidecar_env = environment(init_container(pod, "replica-set-init"));
        assert_eq!(sidecar_env["MONGO_ROOT_USERNAME"], "=admin");
        assert_eq!(sidecar_env["MONGO_ROOT_PASSWORD"], admin);

        let (scripts, read_only) = volume_at(pod, mongo, "/docker-entrypoint-initdb.d");
        assert_eq!(text(&scripts["configMap"]["name"]), "mongo-init", "{name}");
        assert!(read_only, "{name}: the init scripts");

        // A replica set with access control needs a keyfile, which mongod takes only when its
        // owner alone may read it: the keyfile init container copies it from the Secret.
        let key = args_value(mongo, "--keyFile");
        let (key_dir, file) = key.rsplit_once('/').unwrap();
        let (keyfile, read_only) = volume_at(pod, mongo, key_dir);
        assert_eq!(text(&keyfile["emptyDir"]["medium"]), "Memory", "{name}");
        assert!(read_only, "{name}: mongod only reads the key");
        let copier = init_container(pod, "keyfile");
        let (secret, _) = volume_at(pod, copier, "/etc/mongo-keyfile-secret");
        assert_eq!(
            text(&secret["secret"]["secretName"]),
            format!("{name}-admin-secret")
        );
        assert_eq!(secret["secret"]["defaultMode"].as_u64(), Some(0o400));
        assert_eq!(volume_at(pod, copier, key_dir).0, keyfile);
        assert_eq!(
            strings(&copier["command"]),
            [
                "install",
                "-m",
                "0400",
                &format!("/etc/mongo-keyfile-secret/{file}"),
                key
            ],
            "{name}"
        );

        // The probes' and the sidecar's mongosh, and mongod's socket, write to /tmp.
        for container in [mongo, init_container(pod, "replica-set-init")] {
            let (tmp, _) = volume_at(pod, container, "/tmp");
            assert!(tmp["emptyDir"].is_mapping(), "{name}");
        }
    }

    let script = text(&k8s.get("ConfigMap", "mongo-init")["data"]["create-service-user.js"]);
    for part in [
        "db.createUser(",
        "user: process.env.MONGO_SERVICE_USER",
        "pwd: process.env.MONGO_SERVICE_PASSWORD",
        r#"roles: [{ role: "readWrite", db: db.getName() }]"#,
    ] {
        assert!(script.contains(part), "mongo-init's script has {part}");
    }
}

/// The value that follows `flag` in a container's arguments.
fn args_value<'a>(container: &'a Value, flag: &str) -> &'a str {
    let args = strings(&container["args"]);
    args.windows(2)
        .find(|pair| pair[0] == flag)
        .map(|pair| pair[1])
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"))
}

/// `text` with each whole-word `word` (not part of a longer name such as `authSource`) replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_databases_are_one_manifest_with_each_services_name() {
    let with_databases: Vec<&Service> = SERVICES
        .iter()
        .filter(|service| service.database.is_some())
        .collect();
    let dir = "infra/k8s/base";
    // Whole words only: "auth" is a service, but also part of `--authenticationDatabase`.
    let template = |service: &Service| {
        replace_word(
            &read(&format!("{dir}/{}-mongo.yaml", service.name)),
            service.name,
            "{service}",
        )
    };
    let first = template(with_databases[0]);
    for service in &with_databases[1..] {
        assert_eq!(
            template(service),
            first,
            "{dir}: {}-mongo.yaml differs from {}-mongo.yaml by more than the name",
            service.name,
            with_databases[0].name
        );
    }
    assert_eq!(
        replace_word("auth-mongo --auth authSource=auth", "auth", "{s}"),
        "{s}-mongo --{s} authSource={s}"
    );
}

/// The value of `key` in a NATS configuration file's top level (`key: value`).
fn nats_setting<'a>(config: &'a str, key: &str) -> Option<&'a str> {
    config.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == key).then(|| value.trim())
    })
}

#[test]
fn nats_runs_jetstream_from_its_config_with_its_store_on_a_volume() {
    for k8s in overlays() {
        nats_runs_jetstream_from_its_config_with_its_store_on_a_volume_in(k8s);
    }
}

fn nats_runs_jetstream_from_its_config_with_its_store_on_a_volume_in(k8s: &Manifests) {
    let deployment = k8s.get("StatefulSet", "nats");
    let pod = &deployment["spec"]["template"]["spec"];
    let nats = main_container(deployment);
    assert!(text(&nats["image"]).starts_with("nats:"));
    assert_eq!(strings(&nats["args"]), ["-c", "/etc/nats/nats.conf"]);
    let (config_volume, read_only) = volume_at(pod, nats, "/etc/nats");
    assert_eq!(text(&config_volume["configMap"]["name"]), "nats-config");
    assert!(read_only);

    let config = &k8s.get("ConfigMap", "nats-config")["data"];
    let nats_conf = text(&config["nats.conf"]);
    assert_eq!(nats_setting(nats_conf, "port"), Some("4222"));
    assert_eq!(nats_setting(nats_conf, "http"), Some("8222"));
    let store = nats_conf
        .lines()
        .find_map(|line| line.trim().strip_prefix("store_dir:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no jetstream store_dir in {nats_conf}"));
    claim_at(deployment, nats, store);
    assert!(nats_conf.contains("jetstream {"), "{nats_conf}");
    // Relative to nats.conf: the other keys of the same ConfigMap.
    for include in ["include ./cluster.conf", "include ./auth.conf"] {
        assert!(nats_conf.lines().any(|line| line == include), "{nats_conf}");
    }
    assert!(text(&config["auth.conf"]).contains("authorization {"));
    assert_eq!(mounts(nats).len(), 2, "the store and the config");

    let ports: BTreeMap<&str, u64> = items(&nats["ports"])
        .iter()
        .map(|port| {
            (
                text(&port["name"]),
                port["containerPort"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut expected = BTreeMap::from([("client", 4222), ("monitoring", 8222)]);
    if k8s.overlay == "prod" {
        // The routes between the cluster's servers (production.rs).
        expected.insert("cluster", 6222);
    }
    assert_eq!(ports, expected, "{}", k8s.overlay);
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            text(&nats[probe]["httpGet"]["port"]),
            "monitoring",
            "{probe}"
        );
    }
    // Clients only: the monitoring port is the probes'.
    let srv = k8s.get("Service", "nats-srv");
    let ports: BTreeMap<&str, u64> = items(&srv["spec"]["ports"])
        .iter()
        .map(|port| (text(&port["name"]), port["port"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(ports, BTreeMap::from([("client", 4222)]));
}

#[test]
fn no_service_publishes_the_nats_monitoring_port() {
    for k8s in overlays() {
        for srv in k8s.of_kind("Service") {
            for port in items(&srv["spec"]["ports"]) {
                let what = format!("Service {}: {port:?}", text(&srv["metadata"]["name"]));
                assert_ne!(port["port"].as_u64(), Some(8222), "{what}");
                assert_ne!(port["targetPort"].as_u64(), Some(8222), "{what}");
                assert_ne!(text(&port["targetPort"]), "monitoring", "{what}");
            }
        }
    }
}

#[test]
fn nats_takes_each_users_password_from_the_secret_its_service_has() {
    for k8s in overlays() {
        nats_takes_each_users_password_from_the_secret_its_service_has_in(k8s);
    }
}

fn nats_takes_each_users_password_from_the_secret_its_service_has_in(k8s: &Manifests) {
    let nats = environment(main_container(k8s.get("StatefulSet", "nats")));
    let passwords: BTreeMap<&str, &str> = nats
        .iter()
        .filter(|(key, _)| key.ends_with("_NATS_PASSWORD"))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let mut expected = BTreeMap::new();
    for service in SERVICES.iter().filter(|service| uses_bus(service)) {
        let env = environment(main_container(
            k8s.get("Deployment", &format!("{}-depl", service.name)),
        ));
        assert_eq!(env["NATS_USER"], format!("={}", service.name));
        let variable = format!("{}_NATS_PASSWORD", service.name.to_ascii_uppercase());
        assert_eq!(
            nats.get(&variable),
            Some(&env["NATS_PASSWORD"]),
            "{variable}: the same Secret key as {}'s NATS_PASSWORD",
            service.name
        );
        expected.insert(variable, env["NATS_PASSWORD"].clone());
    }
    expected.insert(
        "OPERATOR_NATS_PASSWORD".to_owned(),
        nats_password("operator"),
    );
    let expected: BTreeMap<&str, &str> = expected
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(passwords, expected);

    // Every variable the users' block names is one the container has (nats-server refuses to
    // start otherwise).
    let auth_conf = text(&k8s.get("ConfigMap", "nats-config")["data"]["auth.conf"]);
    for variable in nats_variables(auth_conf) {
        assert!(nats.contains_key(&variable), "auth.conf names ${variable}");
    }
    assert_eq!(
        nats_variables(
            "# $NOT_THIS\n{ user: \"orders\", password: $ORDERS_NATS_PASSWORD,\n  \
             publish: { allow: [\"$JS.API.INFO\", \"a\\\"$B\"] } }"
        ),
        ["ORDERS_NATS_PASSWORD"]
    );
}

/// The environment variables a NATS configuration refers to: `$NAME` outside quoted strings
/// (inside them, `$JS.API...` is a subject) and comments.
fn nats_variables(config: &str) -> Vec<String> {
    let mut variables = Vec::new();
    for line in config.lines() {
        let mut quoted = false;
        let mut escaped = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '#' if !quoted => break,
                '$' if !quoted => {
                    let mut name = String::new();
                    while let Some(next) =
                        chars.next_if(|next| next.is_ascii_alphanumeric() || *next == '_')
                    {
                        name.push(next);
                    }
                    variables.push(name);
                }
                _ => {}
            }
        }
    }
    variables
}

#[test]
fn expiration_keeps_its_jobs_in_a_persistent_redis_behind_a_password() {
    for k8s in overlays() {
        expiration_keeps_its_jobs_in_a_persistent_redis_behind_a_password_in(k8s);
    }
}

fn expiration_keeps_its_jobs_in_a_persistent_redis_behind_a_password_in(k8s: &Manifests) {
    let deployment = k8s.get("Deployment", "expiration-redis-depl");
    // One Redis, its append-only file on its volume: every write is on disk within a second.
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    let (data, _) = volume_at(
        &deployment["spec"]["template"]["spec"],
        main_container(deployment),
        "/data",
    );
    assert!(data["persistentVolumeClaim"].is_mapping());
    let redis = main_container(deployment);
    assert!(text(&redis["image"]).starts_with("redis:"));
    assert_eq!(
        strings(&redis["args"]),
        ["--appendonly", "yes", "--requirepass", "$(REDISCLI_AUTH)"]
    );
    assert_eq!(mounts(redis), ["/data"]);
    // The server's password and the probe's are expiration's.
    let expiration = environment(main_container(k8s.get("Deployment", "expiration-depl")));
    assert_eq!(
        environment(redis),
        BTreeMap::from([(
            "REDISCLI_AUTH".to_owned(),
            expiration["REDIS_PASSWORD"].clone()
        )])
    );
    assert!(
        strings(&redis["readinessProbe"]["exec"]["command"])
            .concat()
            .contains("redis-cli ping | grep -q PONG"),
        "redis-cli exits 0 on NOAUTH: the probe looks for the PONG"
    );
    let srv = k8s.get("Service", "expiration-redis-srv");
    assert_eq!(srv["spec"]["ports"][0]["port"].as_u64(), Some(6379));
}

/// Whether an environment variable holds a credential, by its name.
fn is_credential(name: &str) -> bool {
    name.ends_with("_PASSWORD")
        || name.ends_with("_KEY")
        || name.ends_with("_SECRET")
        || name == "MONGO_URI"
        || name == "REDISCLI_AUTH"
}

#[test]
fn every_credential_comes_from_a_secret_and_none_is_kept_here() {
    for manifests in overlays() {
        let mut credentials = 0;
        let overlay = manifests.overlay;
        assert!(
            manifests.of_kind("Secret").next().is_none(),
            "{overlay}: Secrets are made in the cluster (docs/deploy.md), never kept in the repository"
        );
        for deployment in manifests.workloads() {
            let pod = &deployment["spec"]["template"]["spec"];
            for container in containers(pod) {
                for (name, value) in environment(container) {
                    if is_credential(&name) {
                        assert!(
                            value.starts_with("secret:") || value.starts_with("secret?:"),
                            "{}/{}: {name} is {value}",
                            text(&deployment["metadata"]["name"]),
                            text(&container["name"])
                        );
                        credentials += 1;
                    }
                }
            }
        }
        // MONGO_URI ×4, JWT_KEY ×4, STRIPE_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PUBLISHABLE_KEY,
        // NATS_PASSWORD ×5, REDIS_PASSWORD; the databases' three ×4, NATS' six, Redis' one.
        assert_eq!(credentials, 4 + 4 + 3 + 5 + 1 + 12 + 6 + 1, "{overlay}");
    }
    assert!(
        is_credential("MONGO_INITDB_ROOT_PASSWORD") && !is_credential("MONGO_INITDB_ROOT_USERNAME")
    );
    assert!(is_credential("STRIPE_WEBHOOK_SECRET"));
}

#[test]
fn the_client_knows_nothing_of_the_bus() {
    let k8s = dev();
    let env = environment(main_container(k8s.get("Deployment", "client-depl")));
    let bus: Vec<&String> = env.keys().filter(|key| key.starts_with("NATS_")).collect();
    assert!(bus.is_empty(), "client: {bus:?}");
}

#[test]
fn every_host_a_service_is_given_is_a_service_of_the_cluster() {
    for k8s in overlays() {
        every_host_a_service_is_given_is_a_service_of_the_cluster_in(k8s);
    }
}

fn every_host_a_service_is_given_is_a_service_of_the_cluster_in(k8s: &Manifests) {
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
    for deployment in k8s.workloads() {
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
    // The MONGO_URIs come from Secrets, and their hosts are checked by the databases' test.
    assert!(checked >= 5, "NATS_URL ×4, REDIS_HOST");
}

#[test]
fn the_config_both_overlays_provide_has_every_key_the_services_read() {
    let keys = |manifests: &Manifests| -> BTreeSet<String> {
        let config = manifests.get("ConfigMap", "ticketing-config");
        config["data"]
            .as_mapping()
            .map(|data| data.keys().map(|key| text(key).to_owned()).collect())
            .unwrap_or_default()
    };
    for manifests in overlays() {
        let read: BTreeSet<String> = manifests
            .workloads()
            .flat_map(|deployment| environment(main_container(deployment)).into_values())
            .filter_map(|value| {
                value
                    .strip_prefix("config:ticketing-config/")
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(keys(manifests), read, "{}", manifests.overlay);
    }
    for file in super::kustomization_files("infra/k8s/base") {
        assert!(
            documents(&file)
                .iter()
                .all(|object| text(&object["metadata"]["name"]) != "ticketing-config"),
            "{file}: it differs between dev and prod, so it lives in the overlays"
        );
    }
}

/// The Secrets the manifests read, with the keys read from each.
fn secrets_read(manifests: &Manifests) -> BTreeMap<String, BTreeSet<String>> {
    let mut secrets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for deployment in manifests.workloads() {
        let pod = &deployment["spec"]["template"]["spec"];
        for container in containers(pod) {
            for value in environment(container).into_values() {
                let reference = value
                    .strip_prefix("secret:")
                    .or_else(|| value.strip_prefix("secret?:"));
                if let Some((name, key)) = reference.and_then(|reference| reference.split_once('/'))
                {
                    secrets
                        .entry(name.to_owned())
                        .or_default()
                        .insert(key.to_owned());
                }
            }
        }
        for volume in items(&pod["volumes"]) {
            let secret = &volume["secret"];
            if secret.is_mapping() {
                let keys = secrets
                    .entry(text(&secret["secretName"]).to_owned())
                    .or_default();
                keys.extend(
                    items(&secret["items"])
                        .iter()
                        .map(|item| text(&item["key"]).to_owned()),
                );
            }
        }
    }
    secrets
}

#[test]
fn every_secret_the_manifests_read_is_made_by_the_documented_commands() {
    let docs = read("docs/deploy.md");
    // The loops of the commands: `for service in auth tickets ...; do`, `for user in ...`.
    let loops: Vec<(&str, Vec<&str>)> = docs
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("for ")?;
            let (variable, rest) = rest.split_once(" in ")?;
            let (words, _) = rest.split_once(';')?;
            Some((variable, words.split_whitespace().collect()))
        })
        .collect();
    let secrets = secrets_read(dev());
    assert_eq!(
        secrets,
        secrets_read(prod()),
        "the same Secrets in both clusters"
    );
    assert!(secrets.len() >= 15, "{secrets:?}");
    for (name, keys) in &secrets {
        let made_literally = docs.contains(&format!("secret generic {name} "));
        let made_in_a_loop = loops.iter().any(|(variable, words)| {
            words.iter().any(|word| {
                name.strip_prefix(&format!("{word}-")).is_some_and(|rest| {
                    docs.contains(&format!("secret generic \"${variable}-{rest}\""))
                })
            })
        });
        assert!(
            made_literally || made_in_a_loop,
            "docs/deploy.md makes no {name}"
        );
        for key in keys {
            assert!(
                docs.contains(&format!("--from-literal={key}=")),
                "docs/deploy.md gives {name} no {key}"
            );
        }
    }
    // Each service's URI names its own user and database, and the members of its set: in dev
    // the one member, through its Service, which only it knows by name (directConnection); in
    // production the three, by the names the set knows them by, with no directConnection.
    assert!(docs.contains(
        "--from-literal=MONGO_URI=\"mongodb://$service:$password@$members/$service\
         ?authSource=$service&$options\""
    ));
    let members = members(prod(), "auth-mongo")
        .join(",")
        .replace("auth", "$service");
    for line in [
        format!("members=\"{members}\""),
        "options=\"replicaSet=rs0\"".to_owned(),
        "members=\"$service-mongo-srv:27017\"".to_owned(),
        "options=\"directConnection=true\"".to_owned(),
    ] {
        assert!(
            docs.lines().any(|candidate| candidate.trim() == line),
            "docs/deploy.md: {line}"
        );
    }
}
