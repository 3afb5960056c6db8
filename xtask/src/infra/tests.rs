//! What no schema can check in the deployment files, read from the overlays as
//! `kubectl kustomize` renders them ([`Manifests`]): names that must agree across files, the
//! environment each service gets and the Secrets it comes from, probes, resources and security
//! contexts, the replica sets, NATS and Redis in both overlays ([`cluster`]); what only
//! production has: replicas, autoscalers, disruption budgets, spread, pinned images, the NATS
//! cluster ([`production`]); who may reach whom under the network policies ([`network`]); the dev
//! ingresses and their rate limits ([`ingresses`]); what Prometheus scrapes, the alerts and the
//! dashboard ([`monitoring`]); production's Gateway, HTTPS and HSTS
//! ([`gateway_api`]); the dev Ingress, the HTTPRoutes and `cargo xtask up`'s nginx against the
//! route table ([`route_table`], [`route_parity`]); skaffold's profiles and the Dockerfiles
//! ([`images`]); the workflows ([`workflows`]). Here: reading the files and the overlays, and the
//! validator runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::Value;

use super::*;
use crate::services::Service;

mod cluster;
mod gateway_api;
mod images;
mod ingresses;
mod monitoring;
mod network;
mod production;
mod route_parity;
mod route_table;
mod workflows;

// ---------------------------------------------------------------------------------------------
// Reading the files.

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every YAML document in `path`.
fn documents(path: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(&read(path))
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|error| panic!("{path}: {error}"))
        })
        .filter(|value| !value.is_null())
        .collect()
}

/// The single YAML document in `path`.
fn document(path: &str) -> Value {
    let mut documents = documents(path);
    assert_eq!(documents.len(), 1, "{path} should hold one document");
    documents.remove(0)
}

/// The Kubernetes objects of an overlay, as `kubectl kustomize` renders it.
struct Manifests {
    /// The overlay: `dev` or `prod`.
    overlay: &'static str,
    /// In rendering order.
    objects: Vec<Value>,
}

impl Manifests {
    /// The rendered objects of `overlay`, rendered once per test run.
    fn rendered(overlay: &'static str) -> &'static Manifests {
        static RENDERED: OnceLock<Vec<Manifests>> = OnceLock::new();
        let all = RENDERED.get_or_init(|| {
            kustomize::OVERLAYS
                .into_iter()
                .map(|overlay| Manifests {
                    overlay,
                    objects: kustomize::render(&root(), overlay)
                        .and_then(|rendered| kustomize::objects(&rendered))
                        .unwrap_or_else(|error| panic!("{overlay}: {error:#}")),
                })
                .collect()
        });
        all.iter()
            .find(|manifests| manifests.overlay == overlay)
            .unwrap_or_else(|| panic!("no overlay {overlay}"))
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .iter()
            .filter(move |object| text(&object["kind"]) == kind)
    }

    /// The Deployments and StatefulSets: whatever runs pods.
    fn workloads(&self) -> impl Iterator<Item = &Value> {
        self.objects
            .iter()
            .filter(|object| matches!(text(&object["kind"]), "Deployment" | "StatefulSet"))
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects.iter().find(|object| {
            text(&object["kind"]) == kind && text(&object["metadata"]["name"]) == name
        })
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("{}: no {kind} {name}", self.overlay))
    }
}

/// The dev overlay, rendered.
fn dev() -> &'static Manifests {
    Manifests::rendered("dev")
}

/// The prod overlay, rendered.
fn prod() -> &'static Manifests {
    Manifests::rendered("prod")
}

/// Both overlays, rendered.
fn overlays() -> [&'static Manifests; 2] {
    [dev(), prod()]
}

/// A string value, or "" for anything else.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// A sequence's items, or none for anything else.
fn items(value: &Value) -> &[Value] {
    value.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

/// The strings of a sequence.
fn strings(value: &Value) -> Vec<&str> {
    items(value).iter().map(text).collect()
}

/// Every container of a pod template's spec, init containers first.
fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    items(&pod["initContainers"])
        .iter()
        .chain(items(&pod["containers"]))
}

/// The one main container of a Deployment.
fn main_container(deployment: &Value) -> &Value {
    let containers = items(&deployment["spec"]["template"]["spec"]["containers"]);
    let [container] = containers else {
        panic!(
            "{} should have one container",
            text(&deployment["metadata"]["name"])
        )
    };
    container
}

/// A container's environment, each variable written as `=value`, `secret:name/key`,
/// `secret?:name/key` (optional), `config:name/key` or `field:path`.
fn environment(container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for variable in items(&container["env"]) {
        let from = &variable["valueFrom"];
        let reference = |source: &str, kind: &str| {
            let reference = &from[kind];
            let optional = if reference["optional"].as_bool() == Some(true) {
                "?"
            } else {
                ""
            };
            format!(
                "{source}{optional}:{}/{}",
                text(&reference["name"]),
                text(&reference["key"])
            )
        };
        let value = if !variable["value"].is_null() {
            format!("={}", text(&variable["value"]))
        } else if !from["secretKeyRef"].is_null() {
            reference("secret", "secretKeyRef")
        } else if !from["configMapKeyRef"].is_null() {
            reference("config", "configMapKeyRef")
        } else {
            format!("field:{}", text(&from["fieldRef"]["fieldPath"]))
        };
        let name = text(&variable["name"]).to_owned();
        assert!(env.insert(name.clone(), value).is_none(), "{name} twice");
    }
    env
}

/// The images' repository prefix: Docker Hub's `ticketingrs/<service>` (docs/deploy.md).
const IMAGE_PREFIX: &str = "ticketingrs/";

/// The uid of the services' images (distroless `nonroot`).
const SERVICE_UID: i64 = 65532;

fn image(service: &Service) -> String {
    format!("{IMAGE_PREFIX}{}", service.name)
}

/// An image reference's repository and tag (`None` without one, which means `latest`).
fn image_and_tag(reference: &str) -> (&str, Option<&str>) {
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].split_once(':') {
        Some((_, tag)) => (&reference[..reference.len() - tag.len() - 1], Some(tag)),
        None => (reference, None),
    }
}

#[test]
fn an_image_reference_is_read_as_docker_reads_it() {
    assert_eq!(
        image_and_tag("ticketingrs/auth"),
        ("ticketingrs/auth", None)
    );
    assert_eq!(image_and_tag("mongo:7.0"), ("mongo", Some("7.0")));
    assert_eq!(
        image_and_tag("registry:5000/ticketingrs/auth:abc"),
        ("registry:5000/ticketingrs/auth", Some("abc"))
    );
    assert_eq!(
        image_and_tag("registry:5000/auth"),
        ("registry:5000/auth", None)
    );
}

// ---------------------------------------------------------------------------------------------
// The validator runner itself

#[test]
fn the_validators_are_pinned() {
    for line in REQUIREMENTS.lines() {
        let (name, version) = line.split_once("==").unwrap_or_else(|| panic!("{line}"));
        assert!(!name.is_empty() && !version.is_empty(), "{line}");
    }
    let names: Vec<&str> = REQUIREMENTS
        .lines()
        .filter_map(|line| line.split_once("==").map(|(name, _)| name))
        .collect();
    assert_eq!(
        names,
        [
            "kubernetes-validate",
            "check-jsonschema",
            "yamllint",
            "schemathesis"
        ]
    );
}

#[test]
fn the_venv_lives_in_the_target_directory() {
    let root = Path::new("/w");
    assert_eq!(target_dir(root, None), Path::new("/w/target"));
    assert_eq!(target_dir(root, Some("".into())), Path::new("/w/target"));
    assert_eq!(target_dir(root, Some("/t/x".into())), Path::new("/t/x"));
    assert_eq!(target_dir(root, Some("out".into())), Path::new("/w/out"));
}

#[test]
fn every_deployment_file_is_found_and_nothing_else() {
    let files = DeploymentFiles::find(&root()).unwrap();
    let all: Vec<String> = files
        .all()
        .iter()
        .map(|file| file.to_string_lossy().into_owned())
        .collect();
    for expected in [
        "infra/k8s/base/kustomization.yaml",
        "infra/k8s/base/auth-depl.yaml",
        "infra/k8s/overlays/dev/ingress-srv.yaml",
        "infra/k8s/overlays/prod/gateway.yaml",
        "infra/k8s/overlays/prod/patches/nats-config.yaml",
        "skaffold.yaml",
        ".github/workflows/ci.yaml",
        ".github/workflows/deploy-manifests.yaml",
    ] {
        assert!(all.iter().any(|file| file == expected), "{expected}");
    }
    assert!(
        all.iter()
            .all(|file| file.ends_with(".yaml") || file.ends_with(".yml"))
    );
    assert!(files.manifests.iter().all(|file| file.starts_with("infra")));
    assert_eq!(
        args(&["--strict"], &files.skaffold),
        [OsStr::new("--strict"), OsStr::new("skaffold.yaml")]
    );
}

/// The files a kustomization names: its resources and patches, relative to the workspace root.
fn kustomization_files(dir: &str) -> Vec<String> {
    let kustomization = document(&format!("{dir}/kustomization.yaml"));
    let resources = strings(&kustomization["resources"]);
    let patches = items(&kustomization["patches"])
        .iter()
        .map(|patch| text(&patch["path"]))
        .filter(|path| !path.is_empty());
    let mut files = vec![format!("{dir}/kustomization.yaml")];
    for path in resources.into_iter().chain(patches) {
        let path = Path::new(dir).join(path);
        let path = path.to_string_lossy();
        // A directory is another kustomization: `../../base`.
        if path.ends_with(".yaml") {
            files.push(path.into_owned());
        }
    }
    files
}

#[test]
fn every_manifest_file_is_in_the_base_or_an_overlay() {
    let mut named: Vec<String> = ["infra/k8s/base"]
        .into_iter()
        .map(str::to_owned)
        .chain(kustomize::OVERLAYS.map(kustomize::overlay_dir))
        .flat_map(|dir| kustomization_files(&dir))
        .collect();
    named.sort();
    let mut found = Vec::new();
    yaml_files(&root(), Path::new("infra/k8s"), true, &mut found).unwrap();
    let found: Vec<String> = found
        .iter()
        .map(|file| file.to_string_lossy().into_owned())
        .collect();
    assert_eq!(named, found, "a file no kustomization uses, or one missing");
    for overlay in kustomize::OVERLAYS {
        let kustomization = document(&format!(
            "{}/kustomization.yaml",
            kustomize::overlay_dir(overlay)
        ));
        assert_eq!(
            strings(&kustomization["resources"]).first().copied(),
            Some("../../base"),
            "{overlay} builds on the base"
        );
    }
}
