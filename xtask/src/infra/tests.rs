//! What no schema can check in the deployment files: names that must agree across files, the
//! environment each service gets and the Secrets it comes from, probes, resources and security
//! contexts, the one-node replica sets, NATS and Redis ([`cluster`]); who may reach whom under
//! the NetworkPolicies ([`network`]); the two ingresses, their rate limits, TLS and HSTS
//! ([`ingresses`]); the dev Ingress against the route table ([`route_table`]); skaffold's
//! artifacts and the Dockerfiles ([`images`]); the workflows ([`workflows`]). Here: reading the
//! files, and the validator runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use super::*;
use crate::services::Service;

mod cluster;
mod images;
mod ingresses;
mod network;
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

/// The Kubernetes objects of one directory of manifests.
struct Manifests {
    /// (file, object), in file order.
    objects: Vec<(String, Value)>,
}

impl Manifests {
    fn load(dir: &str) -> Manifests {
        Manifests::load_all(&[dir])
    }

    /// The objects of several directories, as `kubectl apply -f` each in turn would create.
    fn load_all(dirs: &[&str]) -> Manifests {
        let mut files = Vec::new();
        for dir in dirs {
            yaml_files(&root(), Path::new(dir), false, &mut files).unwrap();
        }
        let objects = files
            .iter()
            .flat_map(|file| {
                let file = file.to_string_lossy().into_owned();
                documents(&file)
                    .into_iter()
                    .map(move |object| (file.clone(), object))
            })
            .collect();
        Manifests { objects }
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .iter()
            .map(|(_, object)| object)
            .filter(move |object| text(&object["kind"]) == kind)
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .map(|(_, object)| object)
            .find(|object| {
                text(&object["kind"]) == kind && text(&object["metadata"]["name"]) == name
            })
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    /// The file that defines `kind` `name`.
    fn file_of(&self, kind: &str, name: &str) -> &str {
        self.objects
            .iter()
            .find(|(_, object)| {
                text(&object["kind"]) == kind && text(&object["metadata"]["name"]) == name
            })
            .map(|(file, _)| file.as_str())
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }
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

fn k8s() -> Manifests {
    Manifests::load("infra/k8s")
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

// ---------------------------------------------------------------------------------------------
// The validator runner itself

#[test]
fn the_validators_are_pinned() {
    for line in REQUIREMENTS.lines() {
        let (name, version) = line.split_once("==").unwrap_or_else(|| panic!("{line}"));
        assert!(!name.is_empty() && !version.is_empty(), "{line}");
    }
    assert_eq!(REQUIREMENTS.lines().count(), 3);
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
        "infra/k8s/auth-depl.yaml",
        "infra/k8s-dev/ingress-srv.yaml",
        "infra/k8s-prod/ingress-srv.yaml",
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
        files.custom_resources,
        [Path::new("infra/k8s-prod/cluster-issuer.yaml")],
        "cert-manager's resources, which kubernetes-validate has no schema for"
    );
    assert_eq!(
        args(&["--strict"], &files.skaffold),
        [OsStr::new("--strict"), OsStr::new("skaffold.yaml")]
    );
}

#[test]
fn custom_resources_are_told_apart_and_kept_apart() {
    let dir = std::env::temp_dir().join(format!("xtask-infra-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let issuer = "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: x}\n";
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n";
    let custom = write("custom.yaml", &format!("# a comment\n---\n{issuer}"));
    let builtin = write("builtin.yaml", config);
    let mixed = write("mixed.yaml", &format!("{issuer}---\n{config}"));
    assert!(holds_custom_resources(&custom).unwrap());
    assert!(!holds_custom_resources(&builtin).unwrap());
    let error = holds_custom_resources(&mixed).unwrap_err().to_string();
    assert!(error.contains("mixes custom resources"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
