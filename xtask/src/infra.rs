//! The deployment files, validated offline: no cluster, registry or Docker daemon is at hand, so
//! `cargo xtask infra` (and `cargo xtask test`, before the tests) runs the validators that need
//! none of them.
//!
//! The manifests are Kustomize overlays (`infra/k8s/base`, `infra/k8s/overlays/{dev,prod}`), so
//! what is validated is each overlay rendered by `kubectl kustomize` ([`kustomize`]), one object
//! at a time:
//!
//! - `kubernetes-validate --strict` checks the built-in kinds against the schemas of Kubernetes
//!   [`KUBERNETES_VERSION`]: unknown fields, wrong types, missing required fields, and kinds it
//!   has no schema for (which it would only warn about);
//! - `check-jsonschema` checks the Gateway API objects against the schemas derived from the
//!   Gateway API's CRDs ([`gateway`], vendored in `infra/schemas/`), `skaffold.yaml` against
//!   skaffold's schema (vendored there too, since skaffold itself cannot be installed here) and
//!   the GitHub workflows against theirs (bundled with it). The other custom resources
//!   (cert-manager's, Cilium's: [`kustomize::UNCHECKED_GROUPS`]) are left to the unit tests;
//! - `yamllint` checks every YAML file of them for YAML mistakes (duplicate keys, indentation,
//!   ...);
//! - `promtool check rules` (Debian's `prometheus` package, which `cargo xtask test` installs)
//!   checks the alert rules: the `spec` of production's PrometheusRule
//!   ([`crate::prometheus::alert_rules`]).
//!
//! They come from PyPI at pinned versions, installed once into a virtualenv under the target
//! directory. What no schema can say (names that must agree across files, the environment each
//! service gets, probes, security contexts, Dockerfiles and workflows kept in step) is checked by
//! this module's unit tests, which `cargo test` runs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use anyhow::{Context as _, bail};

use crate::cargo::Workspace;
use crate::console;

/// The Python tools, pinned (a pip requirements file): the deployment validators, and the
/// API fuzzer ([`crate::fuzz`]).
const REQUIREMENTS: &str = "kubernetes-validate==1.37.0\ncheck-jsonschema==0.39.0\nyamllint==1.38.0\n\
                            schemathesis==4.32.5\n";

/// The Kubernetes version whose API the manifests are validated against. They need 1.30 or newer
/// (sidecar init containers, the `sleep` pre-stop hook), as docs/deploy.md says.
const KUBERNETES_VERSION: &str = "1.31";

/// skaffold's config schema for the `apiVersion` of `skaffold.yaml`.
const SKAFFOLD_SCHEMA: &str = "infra/schemas/skaffold-v4beta14.json";

/// What kubernetes-validate says of a kind it has no schema for, before passing the file.
const NO_SCHEMA: &str = "Couldn't find schema";

/// yamllint's default rules, with longer lines allowed and GitHub's `on:` key taken as a key.
const YAMLLINT_CONFIG: &str = "{extends: default, rules: {line-length: {max: 120}, \
                               truthy: {check-keys: false}, document-start: disable}}";

/// `cargo xtask infra`: validates the deployment files of this workspace.
pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let workspace = Workspace::load()?;
    validate_offline(&workspace.root)?;
    Ok(ExitCode::SUCCESS)
}

/// Validates, and says how it went: one line when everything is valid, the problems otherwise.
/// Returns whether everything is valid.
pub(crate) fn validate_and_report(root: &Path) -> bool {
    match validate_offline(root) {
        Ok(()) => true,
        Err(error) => {
            console::error(format_args!("{error:#}"));
            false
        }
    }
}

/// Runs every validator on the deployment files of the workspace at `root`, installing the
/// validators first if needed. Prints one summary line when all pass; fails naming the files'
/// problems otherwise.
pub(crate) fn validate_offline(root: &Path) -> anyhow::Result<()> {
    let files = DeploymentFiles::find(root)?;
    let all = files.all();
    let target = target_dir(root, std::env::var_os("CARGO_TARGET_DIR"));
    let rendered = kustomize::RenderedFiles::write(root, &target.join("infra-rendered"))?;
    let venv = Venv::ready(&target)?;
    let mut failed = Vec::new();
    let mut checks: Vec<(String, &str, Vec<&OsStr>)> = vec![
        (
            "Kubernetes objects of the overlays".to_owned(),
            "kubernetes-validate",
            args(
                &[
                    "--strict",
                    "--quiet",
                    "--kubernetes-version",
                    KUBERNETES_VERSION,
                ],
                &rendered.kubernetes,
            ),
        ),
        (
            "skaffold.yaml".to_owned(),
            "check-jsonschema",
            args(&["--schemafile", SKAFFOLD_SCHEMA], &files.skaffold),
        ),
        (
            "GitHub workflows".to_owned(),
            "check-jsonschema",
            args(
                &["--builtin-schema", "vendor.github-workflows"],
                &files.workflows,
            ),
        ),
        (
            "YAML style".to_owned(),
            "yamllint",
            args(
                &[
                    "--strict",
                    "--format",
                    "parsable",
                    "--config-data",
                    YAMLLINT_CONFIG,
                ],
                &all,
            ),
        ),
    ];
    for (schema, paths) in &rendered.gateway {
        checks.push((
            format!("Gateway API objects ({schema})"),
            "check-jsonschema",
            args(&["--schemafile", schema], paths),
        ));
    }
    for (what, program, args) in checks {
        let output = venv.run(root, program, &args)?;
        if !output.status.success() || mentions(&output, NO_SCHEMA) {
            show(&output);
            failed.push(format!("{what} ({program})"));
        }
    }
    if let Err(error) = check_alert_rules(root, &target.join("infra-rendered")) {
        console::detail(format_args!("{error:#}"));
        failed.push(format!(
            "alert rules of {} (promtool)",
            crate::prometheus::ALERT_RULES
        ));
    }
    if !failed.is_empty() {
        bail!("invalid deployment files: {}", failed.join(", "));
    }
    console::step(format_args!(
        "infra: {} deployment files and the {} objects of the overlays {} valid \
         (kubernetes-validate --strict for Kubernetes {KUBERNETES_VERSION}, check-jsonschema \
         with the Gateway API {} schemas, yamllint, promtool check rules; {} custom resources \
         checked by the unit tests)",
        all.len(),
        rendered.count(),
        kustomize::OVERLAYS.join(" and "),
        gateway::BUNDLE_VERSION,
        rendered.unchecked.len()
    ));
    Ok(())
}

/// Writes the alert rules, as the plain rules file they are, into `dir` and checks them with
/// `promtool check rules`. Fails when promtool is missing, saying how to install it.
fn check_alert_rules(root: &Path, dir: &Path) -> anyhow::Result<()> {
    let promtool = devservers::find_program("promtool").with_context(|| {
        crate::tools::missing_report(&["promtool"], false, crate::tools::is_root())
    })?;
    let rules = dir.join("alert-rules.yaml");
    std::fs::write(&rules, crate::prometheus::alert_rules(root)?)
        .with_context(|| format!("could not write {}", rules.display()))?;
    let output = Command::new(promtool)
        .args([OsStr::new("check"), OsStr::new("rules"), rules.as_os_str()])
        .output()
        .context("could not run promtool")?;
    if !output.status.success() {
        show(&output);
        bail!("promtool check rules failed ({})", output.status);
    }
    Ok(())
}

/// The files to validate, relative to the workspace root, each list sorted.
#[derive(Debug)]
struct DeploymentFiles {
    /// Every YAML file under `infra/`: the base, the overlays and their patches.
    manifests: Vec<PathBuf>,
    /// `skaffold.yaml`.
    skaffold: Vec<PathBuf>,
    /// `.github/workflows/*`.
    workflows: Vec<PathBuf>,
}

impl DeploymentFiles {
    fn find(root: &Path) -> anyhow::Result<DeploymentFiles> {
        let mut manifests = Vec::new();
        yaml_files(root, Path::new("infra"), true, &mut manifests)?;
        let mut workflows = Vec::new();
        yaml_files(root, Path::new(".github/workflows"), false, &mut workflows)?;
        let skaffold = vec![PathBuf::from("skaffold.yaml")];
        for (what, list) in [("infra/", &manifests), (".github/workflows/", &workflows)] {
            if list.is_empty() {
                bail!("no YAML files in {what}");
            }
        }
        Ok(DeploymentFiles {
            manifests,
            skaffold,
            workflows,
        })
    }

    fn all(&self) -> Vec<PathBuf> {
        [&self.manifests, &self.skaffold, &self.workflows]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// Adds the `.yaml`/`.yml` files of `root/dir` (and its subdirectories when `recurse`) to
/// `found`, as paths relative to `root`, sorted.
fn yaml_files(
    root: &Path,
    dir: &Path,
    recurse: bool,
    found: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(root.join(dir))
        .with_context(|| format!("could not list {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.map(|entry| dir.join(entry.file_name())))
        .collect::<Result<_, _>>()
        .with_context(|| format!("could not list {}", dir.display()))?;
    paths.sort();
    for path in paths {
        if root.join(&path).is_dir() {
            if recurse {
                yaml_files(root, &path, recurse, found)?;
            }
        } else if matches!(
            path.extension().and_then(OsStr::to_str),
            Some("yaml" | "yml")
        ) {
            found.push(path);
        }
    }
    Ok(())
}

/// Whether a validator's output mentions `text`.
fn mentions(output: &Output, text: &str) -> bool {
    [&output.stdout, &output.stderr]
        .into_iter()
        .any(|stream| String::from_utf8_lossy(stream).contains(text))
}

/// `options` followed by `files`.
fn args<'a>(options: &[&'a str], files: &'a [PathBuf]) -> Vec<&'a OsStr> {
    options
        .iter()
        .map(|option| OsStr::new(*option))
        .chain(files.iter().map(|file| file.as_os_str()))
        .collect()
}

/// Prints what a validator said, indented under the current step.
fn show(output: &Output) {
    for stream in [&output.stdout, &output.stderr] {
        for line in String::from_utf8_lossy(stream).lines() {
            console::detail(line);
        }
    }
}

/// The workspace's target directory: `$CARGO_TARGET_DIR` (relative to `root` when relative) when
/// set, else `root/target`.
pub(crate) fn target_dir(root: &Path, cargo_target_dir: Option<std::ffi::OsString>) -> PathBuf {
    match cargo_target_dir {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The Python virtualenv holding the validators and the fuzzer.
#[derive(Debug)]
pub(crate) struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The virtualenv in `target/infra-venv`, created and given [`REQUIREMENTS`] if it does not
    /// have them yet.
    pub(crate) fn ready(target: &Path) -> anyhow::Result<Venv> {
        let venv = Venv {
            dir: target.join("infra-venv"),
        };
        let installed = venv.dir.join("installed-requirements.txt");
        let up_to_date = std::fs::read_to_string(&installed).is_ok_and(|text| text == REQUIREMENTS);
        if up_to_date && venv.bin("python").exists() {
            return Ok(venv);
        }
        console::step(format_args!(
            "installing the Python tools (validators, fuzzer) from PyPI into {}",
            venv.dir.display()
        ));
        venv.create()?;
        let requirements = venv.dir.join("requirements.txt");
        std::fs::write(&requirements, REQUIREMENTS)
            .with_context(|| format!("could not write {}", requirements.display()))?;
        let output = Command::new(venv.bin("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--timeout", "30", "--retries", "2", "--requirement"])
            .arg(&requirements)
            .output()
            .context("could not run pip")?;
        if !output.status.success() {
            show(&output);
            bail!(
                "could not install the Python tools with pip ({}): is PyPI (or the index \
                 in PIP_INDEX_URL / pip.conf) reachable? They are: {}",
                output.status,
                REQUIREMENTS.trim().replace('\n', " ")
            );
        }
        std::fs::write(&installed, REQUIREMENTS)
            .with_context(|| format!("could not write {}", installed.display()))?;
        Ok(venv)
    }

    /// (Re)creates the virtualenv.
    fn create(&self) -> anyhow::Result<()> {
        let output = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&self.dir)
            .output()
            .context(
                "could not run python3, which the deployment validators need \
                 (Debian: apt-get install python3 python3-venv)",
            )?;
        if !output.status.success() {
            show(&output);
            bail!(
                "could not create a Python virtualenv in {} ({}); the deployment validators need \
                 python3's venv module (Debian: apt-get install python3-venv)",
                self.dir.display(),
                output.status
            );
        }
        Ok(())
    }

    /// A program installed in the virtualenv.
    pub(crate) fn bin(&self, program: &str) -> PathBuf {
        self.dir.join("bin").join(program)
    }

    /// Runs `program` from the virtualenv in `root`, capturing its output.
    fn run(&self, root: &Path, program: &str, args: &[&OsStr]) -> anyhow::Result<Output> {
        Command::new(self.bin(program))
            .current_dir(root)
            .args(args)
            .output()
            .with_context(|| format!("could not run {program} from {}", self.dir.display()))
    }
}

mod gateway;
pub(crate) mod kustomize;

#[cfg(test)]
mod tests;
