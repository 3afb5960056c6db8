//! The GitHub workflows: tests on pull requests, deploys on pushes to main.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::*;
use crate::services::SERVICES;

/// The workspace's packages and the local crates each depends on, from `cargo metadata`.
#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
    workspace_root: PathBuf,
    pub(super) packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Package {
    name: String,
    manifest_path: PathBuf,
    dependencies: Vec<Dependency>,
    /// The package's directory relative to the root (filled in by [`metadata`]).
    #[serde(skip)]
    pub(super) dir: String,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    /// `None` for normal dependencies, else `dev` or `build`.
    kind: Option<String>,
    optional: bool,
    /// Set for local crates.
    path: Option<PathBuf>,
}

pub(super) fn metadata() -> Metadata {
    let output = crate::cargo::command()
        .current_dir(root())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed");
    let mut metadata: Metadata = serde_json::from_slice(&output.stdout).unwrap();
    for package in &mut metadata.packages {
        let dir = package.manifest_path.parent().unwrap_or(Path::new(""));
        let dir = dir.strip_prefix(&metadata.workspace_root).unwrap_or(dir);
        package.dir = dir.to_string_lossy().into_owned();
    }
    metadata
}

impl Metadata {
    /// The directories of `package` and of every local crate it builds with, transitively:
    /// through every dependency for its tests, through the required normal ones for its binary.
    fn local_crates(&self, package: &str, for_tests: bool) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut pending = vec![package.to_owned()];
        while let Some(name) = pending.pop() {
            let Some(package) = self
                .packages
                .iter()
                .find(|candidate| candidate.name == name)
            else {
                continue;
            };
            if !found.insert(package.dir.clone()) {
                continue;
            }
            for dependency in &package.dependencies {
                let wanted = for_tests || (dependency.kind.is_none() && !dependency.optional);
                let Some(path) = dependency.path.as_deref().filter(|_| wanted) else {
                    continue;
                };
                if let Some(local) = self
                    .packages
                    .iter()
                    .find(|candidate| candidate.manifest_path.parent() == Some(path))
                {
                    pending.push(local.name.clone());
                }
            }
        }
        found
    }

    /// The paths a workflow building `service` must trigger on.
    fn trigger_paths(&self, service: &str, for_tests: bool) -> BTreeSet<String> {
        let mut crates = self.local_crates(service, for_tests);
        // A service not yet in the workspace still needs its own directory and `common`.
        crates.extend([service.to_owned(), "common".to_owned()]);
        crates
            .into_iter()
            .map(|dir| format!("{dir}/**"))
            .chain(["Cargo.toml".to_owned(), "Cargo.lock".to_owned()])
            .collect()
    }
}

/// The workflows, by file name.
fn workflows() -> BTreeMap<String, Value> {
    let mut files = Vec::new();
    yaml_files(&root(), Path::new(".github/workflows"), false, &mut files).unwrap();
    files
        .iter()
        .map(|file| {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            (name, document(&file.to_string_lossy()))
        })
        .collect()
}

/// Every step of every job.
fn steps(workflow: &Value) -> Vec<&Value> {
    workflow["jobs"]
        .as_mapping()
        .into_iter()
        .flat_map(|jobs| jobs.values())
        .flat_map(|job| items(&job["steps"]))
        .collect()
}

/// The step that uses `action` (`owner/name@version`).
fn step_using<'a>(workflow: &'a Value, action: &str) -> &'a Value {
    steps(workflow)
        .into_iter()
        .find(|step| text(&step["uses"]) == action)
        .unwrap_or_else(|| panic!("no step uses {action}"))
}

/// The commands of every `run` step.
fn commands(workflow: &Value) -> Vec<&str> {
    steps(workflow)
        .into_iter()
        .map(|step| text(&step["run"]))
        .filter(|run| !run.is_empty())
        .collect()
}

/// The `paths` filter of the workflow's `event` trigger.
fn trigger_paths<'a>(workflow: &'a Value, event: &str) -> BTreeSet<&'a str> {
    strings(&workflow["on"][event]["paths"])
        .into_iter()
        .collect()
}

/// A workflow with its `paths` filter removed and `service` replaced by `{service}`: what every
/// service's workflow of one kind must share.
fn workflow_template(workflow: &Value, service: &str) -> String {
    let mut workflow = workflow.clone();
    if let Some(on) = workflow["on"].as_mapping_mut() {
        for (_, trigger) in on.iter_mut() {
            if let Some(trigger) = trigger.as_mapping_mut() {
                trigger.remove("paths");
            }
        }
    }
    serde_yaml::to_string(&workflow)
        .unwrap()
        .replace(service, "{service}")
}

#[test]
fn there_are_the_workflows_of_the_original_plus_tests_for_expiration_and_client() {
    let names: BTreeSet<String> = workflows().into_keys().collect();
    let mut expected: BTreeSet<String> = SERVICES
        .iter()
        .flat_map(|service| {
            [
                format!("tests-{}.yaml", service.name),
                format!("deploy-{}.yaml", service.name),
            ]
        })
        .collect();
    expected.insert("deploy-manifests.yaml".to_owned());
    assert!(
        names.is_superset(&expected),
        "missing: {:?}",
        expected.difference(&names).collect::<Vec<_>>()
    );
}

#[test]
fn each_crates_tests_run_on_pull_requests_that_can_change_them() {
    let workflows = workflows();
    let metadata = metadata();
    let first = SERVICES[0].name;
    let template = workflow_template(&workflows[&format!("tests-{first}.yaml")], first);
    for service in SERVICES {
        let name = service.name;
        let file = format!("tests-{name}.yaml");
        let workflow = &workflows[&file];
        assert_eq!(text(&workflow["name"]), format!("tests-{name}"));
        let paths = trigger_paths(workflow, "pull_request");
        for path in metadata.trigger_paths(name, true) {
            assert!(paths.contains(path.as_str()), "{file} misses {path}");
        }
        assert!(paths.contains(format!(".github/workflows/{file}").as_str()));
        assert!(
            commands(workflow).contains(&format!("cargo test --package {name} --locked").as_str()),
            "{file}"
        );
        step_using(workflow, "Swatinem/rust-cache@v2");
        let env = &workflow["jobs"]["test"]["env"];
        for variable in ["MONGO_URI", "NATS_URL", "REDIS_URL"] {
            assert!(
                !env[variable].is_null(),
                "{file}: {variable} for the test harness"
            );
        }
        assert_eq!(workflow_template(workflow, name), template, "{file}");
    }
}

#[test]
fn each_service_is_built_pushed_by_commit_and_rolled_out_on_pushes_to_main() {
    let workflows = workflows();
    let metadata = metadata();
    let first = SERVICES[0].name;
    let template = workflow_template(&workflows[&format!("deploy-{first}.yaml")], first);
    for service in SERVICES {
        let name = service.name;
        let file = format!("deploy-{name}.yaml");
        let workflow = &workflows[&file];
        assert_eq!(text(&workflow["name"]), format!("deploy-{name}"));
        assert_eq!(
            strings(&workflow["on"]["push"]["branches"]),
            ["main"],
            "{file}"
        );
        let paths = trigger_paths(workflow, "push");
        for path in metadata.trigger_paths(name, false) {
            assert!(paths.contains(path.as_str()), "{file} misses {path}");
        }
        assert_eq!(text(&workflow["env"]["IMAGE"]), image(&service), "{file}");

        let build = &step_using(workflow, "docker/build-push-action@v6")["with"];
        assert_eq!(text(&build["context"]), ".");
        assert_eq!(text(&build["file"]), format!("{name}/Dockerfile"));
        assert_eq!(build["push"].as_bool(), Some(true));
        // The commit's tag, and only it: never `latest`.
        assert_eq!(text(&build["tags"]), "${{ env.IMAGE }}:${{ github.sha }}");
        let login = &step_using(workflow, "docker/login-action@v3")["with"];
        assert_eq!(text(&login["username"]), "${{ secrets.DOCKER_USERNAME }}");
        assert_eq!(text(&login["password"]), "${{ secrets.DOCKER_PASSWORD }}");
        assert_eq!(
            text(&step_using(workflow, "digitalocean/action-doctl@v2")["with"]["token"]),
            "${{ secrets.DIGITALOCEAN_ACCESS_TOKEN }}"
        );
        let deployment = format!("{name}-depl");
        dev().get("Deployment", &deployment);
        let commands = commands(workflow);
        let [kubeconfig, rollout] = commands[..] else {
            panic!("{file}: {commands:?}")
        };
        assert_eq!(
            kubeconfig,
            "doctl kubernetes cluster kubeconfig save ticketing"
        );
        // That exact image, then its rollout, undone if it is not ready in time, failing the job.
        let lines: Vec<&str> = rollout.lines().map(str::trim).collect();
        let set =
            format!("kubectl set image deployment/{deployment} {name}=\"$IMAGE:$GITHUB_SHA\"");
        let wait = format!(
            "if ! kubectl rollout status deployment/{deployment} --timeout={ROLLOUT_TIMEOUT}; then"
        );
        let undo = format!("kubectl rollout undo deployment/{deployment}");
        let position = |line: &str| {
            lines
                .iter()
                .position(|candidate| *candidate == line)
                .unwrap_or_else(|| panic!("{file}: no {line:?} in {rollout}"))
        };
        let (set, wait, undo) = (position(&set), position(&wait), position(&undo));
        assert!(set < wait && wait < undo, "{file}");
        assert_eq!(lines[undo + 1], "exit 1", "{file}: the job fails");
        assert!(!rollout.contains("rollout restart"), "{file}");
        assert_eq!(workflow_template(workflow, name), template, "{file}");
    }
}

/// How long a deploy waits for a rollout before it fails.
const ROLLOUT_TIMEOUT: &str = "10m";

#[test]
fn no_workflow_deploys_latest() {
    for (file, workflow) in workflows() {
        let source = serde_yaml::to_string(&workflow).unwrap();
        assert!(!source.contains(":latest"), "{file}");
    }
}

#[test]
fn the_manifests_are_applied_with_the_production_overlay_keeping_the_running_images() {
    let workflow = &workflows()["deploy-manifests.yaml"];
    assert_eq!(text(&workflow["name"]), "deploy-manifests");
    assert_eq!(strings(&workflow["on"]["push"]["branches"]), ["main"]);
    assert!(trigger_paths(workflow, "push").contains("infra/**"));
    let prod_dir = kustomize::overlay_dir("prod");
    let commands = commands(workflow);
    let [kubeconfig, pin, apply, wait] = commands[..] else {
        panic!("{commands:?}")
    };
    assert_eq!(
        kubeconfig,
        "doctl kubernetes cluster kubeconfig save ticketing"
    );
    // Every service's image set, in the overlay, to what its deployment runs (or, the first
    // time, this commit's), before the overlay is applied.
    let pin_step = steps(workflow)
        .into_iter()
        .find(|step| text(&step["run"]) == pin)
        .unwrap();
    assert_eq!(text(&pin_step["working-directory"]), prod_dir);
    let services: Vec<&str> = SERVICES.iter().map(|service| service.name).collect();
    assert!(
        pin.contains(&format!("for service in {}; do", services.join(" "))),
        "{pin}"
    );
    assert!(pin.contains(
        "kustomize edit set image \"ticketingrs/$service=${running:-ticketingrs/$service:$GITHUB_SHA}\""
    ));
    assert_eq!(apply, format!("kubectl apply -k {prod_dir}"));
    assert!(
        wait.contains(&format!(
            "kubectl rollout status \"$workload\" --timeout={ROLLOUT_TIMEOUT}"
        )),
        "{wait}"
    );
    assert!(wait.contains("kubectl get deployments,statefulsets --output name"));
    step_using(workflow, "digitalocean/action-doctl@v2");
    // What the pin step sets is what the overlay pins.
    let kustomization = document(&format!("{prod_dir}/kustomization.yaml"));
    let pinned: Vec<&str> = items(&kustomization["images"])
        .iter()
        .map(|image| text(&image["name"]))
        .collect();
    let expected: Vec<String> = SERVICES.iter().map(image).collect();
    assert_eq!(pinned, expected);
}

#[test]
fn workflows_use_only_the_three_documented_secrets() {
    let mut used = BTreeSet::new();
    for file in workflows().keys() {
        let source = read(&format!(".github/workflows/{file}"));
        for (at, _) in source.match_indices("secrets.") {
            let name: String = source[at + "secrets.".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    let documented = [
        "DIGITALOCEAN_ACCESS_TOKEN",
        "DOCKER_PASSWORD",
        "DOCKER_USERNAME",
    ];
    assert_eq!(used, documented.map(str::to_owned).into_iter().collect());
    let docs = read("docs/deploy.md");
    for secret in documented {
        assert!(docs.contains(secret), "docs/deploy.md explains {secret}");
    }
}

#[test]
fn every_path_a_workflow_names_exists() {
    let root = root();
    for (file, workflow) in workflows() {
        let on = workflow["on"].as_mapping().cloned().unwrap_or_default();
        let filters = on
            .values()
            .flat_map(|trigger| strings(&trigger["paths"]))
            .map(str::to_owned);
        let files = steps(&workflow)
            .into_iter()
            .flat_map(|step| {
                [
                    text(&step["with"]["file"]),
                    text(&step["working-directory"]),
                ]
            })
            .filter(|file| !file.is_empty())
            .map(str::to_owned);
        let applied = commands(&workflow)
            .into_iter()
            .flat_map(|command| command.split("&&"))
            .filter_map(|command| {
                let command = command.trim();
                command
                    .strip_prefix("kubectl apply -f ")
                    .or_else(|| command.strip_prefix("kubectl apply -k "))
            })
            .map(str::to_owned)
            .collect::<Vec<_>>();
        for path in filters.chain(files).chain(applied) {
            // The fixed part of a glob: `auth/**` names `auth`.
            let fixed = path
                .split('*')
                .next()
                .unwrap_or_default()
                .trim_end_matches('/');
            assert!(
                fixed.is_empty() || root.join(fixed).exists(),
                "{file}: {path} does not exist"
            );
        }
    }
}
