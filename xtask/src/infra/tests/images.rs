//! skaffold.yaml, the Dockerfiles and the build context.

use std::collections::BTreeSet;

use super::workflows::metadata;
use super::*;
use crate::services::{SERVICES, Service};

#[test]
fn skaffold_builds_every_service_from_the_root_with_its_own_dockerfile() {
    let skaffold = document("skaffold.yaml");
    assert_eq!(text(&skaffold["apiVersion"]), "skaffold/v4beta14");
    assert!(
        SKAFFOLD_SCHEMA.ends_with(&format!(
            "{}.json",
            text(&skaffold["apiVersion"]).replace('/', "-")
        )),
        "the schema is the one of this apiVersion"
    );
    assert!(root().join(SKAFFOLD_SCHEMA).is_file());
    assert_eq!(skaffold["build"]["local"]["push"].as_bool(), Some(false));
    // Without a profile, and with `dev`, the dev overlay; with `prod`, production's.
    fn overlay_of(manifests: &Value) -> Vec<&str> {
        strings(&manifests["kustomize"]["paths"])
    }
    assert_eq!(
        overlay_of(&skaffold["manifests"]),
        ["infra/k8s/overlays/dev"]
    );
    assert!(skaffold["deploy"]["kubectl"].is_mapping());
    let profiles: BTreeMap<&str, &Value> = items(&skaffold["profiles"])
        .iter()
        .map(|profile| (text(&profile["name"]), profile))
        .collect();
    assert_eq!(
        profiles.keys().copied().collect::<Vec<_>>(),
        ["dev", "prod"]
    );
    for overlay in kustomize::OVERLAYS {
        assert_eq!(
            overlay_of(&profiles[overlay]["manifests"]),
            [kustomize::overlay_dir(overlay)]
        );
    }
    // Production's images go to the registry, tagged with the commit.
    let prod_build = &profiles["prod"]["build"];
    assert_eq!(prod_build["local"]["push"].as_bool(), Some(true));
    assert_eq!(
        text(&prod_build["tagPolicy"]["gitCommit"]["variant"]),
        "CommitSha"
    );
    assert!(
        profiles["dev"]["build"].is_null(),
        "dev builds as the top level says"
    );

    let deployed: BTreeSet<&str> = dev()
        .workloads()
        .map(|deployment| text(&main_container(deployment)["image"]))
        .filter(|image| image.starts_with(IMAGE_PREFIX))
        .collect();
    let artifacts = items(&skaffold["build"]["artifacts"]);
    let built: BTreeSet<&str> = artifacts
        .iter()
        .map(|artifact| text(&artifact["image"]))
        .collect();
    assert_eq!(built, deployed);
    assert_eq!(artifacts.len(), SERVICES.len());
    for service in SERVICES {
        let artifact = artifacts
            .iter()
            .find(|artifact| text(&artifact["image"]) == image(&service))
            .unwrap_or_else(|| panic!("no artifact for {}", service.name));
        assert_eq!(text(&artifact["context"]), ".");
        let dockerfile = text(&artifact["docker"]["dockerfile"]);
        assert_eq!(dockerfile, format!("{}/Dockerfile", service.name));
        assert!(root().join(dockerfile).is_file(), "{dockerfile}");
    }
}

/// A service's Dockerfile with its name replaced by `{service}`.
fn dockerfile_template(service: &Service) -> String {
    read(&format!("{}/Dockerfile", service.name)).replace(service.name, "{service}")
}

#[test]
fn the_dockerfiles_are_one_file_with_each_services_name() {
    let template = dockerfile_template(&SERVICES[0]);
    for service in &SERVICES[1..] {
        assert_eq!(
            dockerfile_template(service),
            template,
            "{}/Dockerfile differs from {}/Dockerfile by more than the name",
            service.name,
            SERVICES[0].name
        );
    }
}

#[test]
fn the_dockerfile_caches_dependencies_and_runs_one_binary_as_non_root() {
    let template = dockerfile_template(&SERVICES[0]);
    let froms: Vec<&str> = template
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 3, "planner, builder and runtime stages");
    // The builder's Debian and the runtime's must agree on glibc.
    assert!(froms[0].contains("bookworm"), "{}", froms[0]);
    let runtime = froms.last().copied().unwrap_or_default();
    assert!(runtime.contains("distroless/cc-debian12"), "{runtime}");
    assert!(runtime.contains(":nonroot"), "{runtime}");
    let user = format!("USER {SERVICE_UID}:{SERVICE_UID}");
    for line in [
        "RUN cargo chef prepare --recipe-path recipe.json",
        "RUN cargo chef cook --release --locked --package {service} --recipe-path recipe.json",
        "RUN cargo build --release --locked --package {service} --bin {service}",
        "COPY --from=builder /app/target/release/{service} /usr/local/bin/{service}",
        user.as_str(),
        r#"ENTRYPOINT ["/usr/local/bin/{service}"]"#,
    ] {
        assert!(
            template.lines().any(|candidate| candidate == line),
            "the Dockerfile lacks {line:?}"
        );
    }
    // The pods run as the image's user.
    let k8s = dev();
    for service in SERVICES {
        let deployment = k8s.get("Deployment", &format!("{}-depl", service.name));
        assert_eq!(
            deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_i64(),
            Some(SERVICE_UID),
            "{}",
            service.name
        );
    }
}

#[test]
fn the_build_context_leaves_out_what_images_do_not_need_and_keeps_the_crates() {
    let dockerignore = read(".dockerignore");
    let ignored: BTreeSet<&str> = dockerignore
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for must in [".git", "**/target", "infra", ".github"] {
        assert!(ignored.contains(must), "{must}");
    }
    for package in metadata().packages {
        assert!(!ignored.contains(package.dir.as_str()), "{}", package.dir);
    }
}
