//! The overlays of `infra/k8s` rendered as the cluster receives them, by `kubectl kustomize`
//! (offline: it reads only the files), and sorted by who can validate each object.
//!
//! `infra/k8s/base` is what every cluster runs; `infra/k8s/overlays/dev` (skaffold's dev profile)
//! and `infra/k8s/overlays/prod` (DigitalOcean) add to and patch it. No file under `infra/k8s`
//! is a whole manifest by itself, so validation and the unit tests look at the rendered
//! objects, never at the files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde_yaml::Value;

use super::gateway::{self, GatewayKind};

/// The overlays, by name: `infra/k8s/overlays/<name>`.
pub(crate) const OVERLAYS: [&str; 2] = ["dev", "prod"];

/// The API groups of custom resources without a schema here: cert-manager's `ClusterIssuer`,
/// Cilium's network policies and Prometheus Operator's `PodMonitor` and `PrometheusRule`. They
/// are left to the unit tests, which check what they say (the alert rules are also checked by
/// `promtool`).
pub(crate) const UNCHECKED_GROUPS: [&str; 3] =
    ["cert-manager.io", "cilium.io", "monitoring.coreos.com"];

/// The directory of `overlay`, relative to the workspace root.
pub(crate) fn overlay_dir(overlay: &str) -> String {
    format!("infra/k8s/overlays/{overlay}")
}

/// `kubectl kustomize` of `overlay` in the workspace at `root`: the manifests, as YAML.
pub(crate) fn render(root: &Path, overlay: &str) -> anyhow::Result<String> {
    let kubectl = devservers::find_program("kubectl").context(
        "kubectl is needed to render the Kustomize overlays (`kubectl kustomize`, offline): \
         install it (https://kubernetes.io/docs/tasks/tools/)",
    )?;
    let dir = overlay_dir(overlay);
    let output = Command::new(kubectl)
        .current_dir(root)
        .args(["kustomize", &dir])
        .output()
        .context("could not run kubectl kustomize")?;
    if !output.status.success() {
        bail!(
            "kubectl kustomize {dir} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("{dir} rendered to non-UTF-8"))
}

/// The documents of rendered YAML, as they were written, in order: kustomize separates them
/// with `---` lines (inside a block scalar, such a line would be indented).
pub(crate) fn documents(rendered: &str) -> Vec<String> {
    let mut documents = vec![String::new()];
    for line in rendered.lines() {
        if line == "---" {
            documents.push(String::new());
        } else if let Some(document) = documents.last_mut() {
            document.push_str(line);
            document.push('\n');
        }
    }
    documents.retain(|document| !document.trim().is_empty());
    documents
}

/// The objects of rendered YAML, in order.
pub(crate) fn objects(rendered: &str) -> anyhow::Result<Vec<Value>> {
    documents(rendered)
        .iter()
        .map(|document| serde_yaml::from_str(document).context("rendered YAML"))
        .collect()
}

/// Who validates an object, by its `apiVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validator {
    /// kubernetes-validate, with Kubernetes' own schemas.
    Kubernetes,
    /// check-jsonschema, with the schema derived from the Gateway API CRD of this kind.
    Gateway(&'static GatewayKind),
    /// A custom resource without a schema here: the unit tests.
    UnitTests,
}

impl Validator {
    /// Fails for a Gateway API kind production has no schema for, and for any other custom
    /// resource not known here: none must escape every check.
    pub(crate) fn of(object: &Value) -> anyhow::Result<Validator> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let group = api_version.split_once('/').map_or("", |(group, _)| group);
        if group == gateway::GROUP {
            return match gateway::kind(kind) {
                Some(known) if api_version.ends_with(&format!("/{}", gateway::VERSION)) => {
                    Ok(Validator::Gateway(known))
                }
                _ => bail!("{api_version} {kind}: no schema derived for it (gateway.rs, SCHEMAS)"),
            };
        }
        if UNCHECKED_GROUPS.contains(&group) {
            return Ok(Validator::UnitTests);
        }
        // The built-in groups have no dot, or end in .k8s.io (networking.k8s.io, ...).
        if group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io") {
            return Ok(Validator::Kubernetes);
        }
        bail!("{api_version} {kind}: a custom resource nothing validates")
    }
}

/// Every rendered object of every overlay, one file each, ready for the validators.
#[derive(Debug, Default)]
pub(crate) struct RenderedFiles {
    /// For kubernetes-validate.
    pub(crate) kubernetes: Vec<PathBuf>,
    /// For check-jsonschema, by the schema (relative to the workspace root) they follow.
    pub(crate) gateway: Vec<(&'static str, Vec<PathBuf>)>,
    /// Left to the unit tests.
    pub(crate) unchecked: Vec<PathBuf>,
}

impl RenderedFiles {
    /// Renders every overlay of the workspace at `root` into `dir` (emptied first):
    /// `dir/<overlay>/<nnn>-<kind>-<name>.yaml`.
    pub(crate) fn write(root: &Path, dir: &Path) -> anyhow::Result<RenderedFiles> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("could not empty {}", dir.display()))?;
        }
        let mut files = RenderedFiles::default();
        for overlay in OVERLAYS {
            let overlay_dir = dir.join(overlay);
            std::fs::create_dir_all(&overlay_dir)
                .with_context(|| format!("could not create {}", overlay_dir.display()))?;
            // Each object as kustomize wrote it: written again, a string such as `yes` would
            // lose the quotes that keep it one for YAML 1.1 readers (the validators).
            let rendered = render(root, overlay)?;
            for (index, (text, object)) in documents(&rendered)
                .iter()
                .zip(&objects(&rendered)?)
                .enumerate()
            {
                let kind = object["kind"].as_str().unwrap_or("unknown");
                let name = object["metadata"]["name"].as_str().unwrap_or("unnamed");
                let path = overlay_dir.join(format!(
                    "{index:03}-{}-{name}.yaml",
                    kind.to_ascii_lowercase()
                ));
                std::fs::write(&path, text)
                    .with_context(|| format!("could not write {}", path.display()))?;
                let validator =
                    Validator::of(object).with_context(|| format!("{overlay}: {kind} {name}"))?;
                match validator {
                    Validator::Kubernetes => files.kubernetes.push(path),
                    Validator::UnitTests => files.unchecked.push(path),
                    Validator::Gateway(known) => {
                        match files
                            .gateway
                            .iter_mut()
                            .find(|(schema, _)| *schema == known.schema)
                        {
                            Some((_, paths)) => paths.push(path),
                            None => files.gateway.push((known.schema, vec![path])),
                        }
                    }
                }
            }
        }
        Ok(files)
    }

    /// How many objects were rendered.
    pub(crate) fn count(&self) -> usize {
        self.kubernetes.len()
            + self.unchecked.len()
            + self
                .gateway
                .iter()
                .map(|(_, paths)| paths.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str) -> Value {
        serde_yaml::from_str(&format!(
            "{{apiVersion: {api_version}, kind: {kind}, metadata: {{name: x}}}}"
        ))
        .unwrap()
    }

    #[test]
    fn rendered_yaml_splits_into_its_documents_as_written() {
        let rendered = "a: 'yes'\n---\nb: |\n  ---\n  c\n---\n";
        assert_eq!(documents(rendered), ["a: 'yes'\n", "b: |\n  ---\n  c\n"]);
        let objects = objects(rendered).unwrap();
        assert_eq!(objects[0]["a"], Value::from("yes"));
        assert_eq!(objects[1]["b"], Value::from("---\nc\n"));
    }

    #[test]
    fn each_object_goes_to_the_validator_that_knows_its_kind() {
        for (api_version, kind) in [
            ("v1", "Service"),
            ("apps/v1", "StatefulSet"),
            ("policy/v1", "PodDisruptionBudget"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
        ] {
            assert_eq!(
                Validator::of(&object(api_version, kind)).unwrap(),
                Validator::Kubernetes,
                "{kind}"
            );
        }
        assert_eq!(
            Validator::of(&object("gateway.networking.k8s.io/v1", "HTTPRoute")).unwrap(),
            Validator::Gateway(&gateway::SCHEMAS[1])
        );
        for (api_version, kind) in [
            ("cert-manager.io/v1", "ClusterIssuer"),
            ("cilium.io/v2", "CiliumNetworkPolicy"),
            ("monitoring.coreos.com/v1", "PodMonitor"),
        ] {
            assert_eq!(
                Validator::of(&object(api_version, kind)).unwrap(),
                Validator::UnitTests
            );
        }
        // Nothing escapes: an older version, a kind without a schema, an unknown group.
        for (api_version, kind) in [
            ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
            ("gateway.networking.k8s.io/v1", "GRPCRoute"),
            ("example.com/v1", "Widget"),
        ] {
            assert!(Validator::of(&object(api_version, kind)).is_err(), "{kind}");
        }
    }
}
