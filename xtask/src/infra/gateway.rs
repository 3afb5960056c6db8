//! JSON schemas for production's Gateway API objects (`Gateway`, `HTTPRoute`), derived from the
//! Gateway API's own CRDs, so that `cargo xtask infra` checks them offline as strictly as
//! kubernetes-validate checks the built-in kinds.
//!
//! A CRD carries its schema as OpenAPI v3 (`spec.versions[].schema.openAPIV3Schema`): nearly JSON
//! Schema, but open where Kubernetes is closed. [`derive_schema`] closes it: every object with
//! `properties` takes no others (the API server prunes unknown fields; here they are errors, as
//! kubernetes-validate's `--strict` makes them), `nullable` becomes a `null` type, and
//! `apiVersion` and `kind` must be this version's. Descriptions are dropped; the CEL rules
//! (`x-kubernetes-validations`) are kept for reference, since a JSON-schema validator ignores
//! them: the overlay's tests check the ones the manifests rely on.
//!
//! The schemas are checked in ([`SCHEMAS`], under `infra/schemas/`). The test
//! `the_checked_in_schemas_are_derived_from_the_crds` derives them again from the standard
//! channel's CRD files, found in `$GATEWAY_API_CRDS` or `../shared/schemas/gateway-api-v1.6.1`
//! beside the workspace, and fails on any difference; with `UPDATE_GATEWAY_SCHEMAS=1` it writes
//! them instead.

#[cfg(test)]
use anyhow::{Context as _, bail, ensure};
#[cfg(test)]
use serde_json::{Map, Value as Json, json};
#[cfg(test)]
use serde_yaml::Value as Yaml;

/// The Gateway API release (standard channel) the schemas come from.
pub(crate) const BUNDLE_VERSION: &str = "v1.6.1";

/// The API group of the Gateway API.
pub(crate) const GROUP: &str = "gateway.networking.k8s.io";

/// The version of the group the manifests use.
pub(crate) const VERSION: &str = "v1";

/// One kind the manifests use, and where its CRD and derived schema are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GatewayKind {
    pub(crate) kind: &'static str,
    /// The CRD's file name in the Gateway API release (`config/crd/standard/`).
    pub(crate) crd: &'static str,
    /// The derived JSON schema, relative to the workspace root.
    pub(crate) schema: &'static str,
}

/// The kinds production uses. A Gateway API object of any other kind fails validation.
pub(crate) const SCHEMAS: [GatewayKind; 2] = [
    GatewayKind {
        kind: "Gateway",
        crd: "gateway.networking.k8s.io_gateways.yaml",
        schema: "infra/schemas/gateway-api-v1.6.1/gateway-v1.json",
    },
    GatewayKind {
        kind: "HTTPRoute",
        crd: "gateway.networking.k8s.io_httproutes.yaml",
        schema: "infra/schemas/gateway-api-v1.6.1/httproute-v1.json",
    },
];

/// The schema entry for `kind`, if production may use it.
pub(crate) fn kind(kind: &str) -> Option<&'static GatewayKind> {
    SCHEMAS.iter().find(|known| known.kind == kind)
}

/// The JSON schema of `kind`'s [`VERSION`] objects, from its CRD (the parsed YAML of the CRD
/// file). Fails when the CRD is not the expected kind, group, release or channel. (Run by the
/// test that compares or writes the checked-in schemas, hence test-only.)
#[cfg(test)]
pub(crate) fn derive_schema(crd: &Yaml, kind: &str) -> anyhow::Result<Json> {
    let text = |value: &Yaml| value.as_str().unwrap_or_default().to_owned();
    ensure!(
        text(&crd["kind"]) == "CustomResourceDefinition",
        "not a CRD"
    );
    let spec = &crd["spec"];
    ensure!(
        text(&spec["group"]) == GROUP && text(&spec["names"]["kind"]) == kind,
        "not the CRD of {GROUP} {kind}"
    );
    let annotations = &crd["metadata"]["annotations"];
    let bundle = text(&annotations["gateway.networking.k8s.io/bundle-version"]);
    let channel = text(&annotations["gateway.networking.k8s.io/channel"]);
    ensure!(
        bundle == BUNDLE_VERSION && channel == "standard",
        "the CRD of {kind} is from Gateway API {bundle} ({channel} channel), not {BUNDLE_VERSION} (standard)"
    );
    let version = spec["versions"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|version| text(&version["name"]) == VERSION)
        .with_context(|| format!("the CRD of {kind} has no version {VERSION}"))?;
    let openapi = &version["schema"]["openAPIV3Schema"];
    if !openapi.is_mapping() {
        bail!("the CRD of {kind} {VERSION} has no openAPIV3Schema");
    }
    let mut schema: Json = serde_json::to_value(openapi).context("the openAPIV3Schema as JSON")?;
    close(&mut schema);
    let Json::Object(top) = &mut schema else {
        bail!("the openAPIV3Schema of {kind} is not an object");
    };
    let properties = top
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .context("properties")?;
    properties.insert(
        "apiVersion".to_owned(),
        json!({"type": "string", "const": format!("{GROUP}/{VERSION}")}),
    );
    properties.insert("kind".to_owned(), json!({"type": "string", "const": kind}));
    let mut required: Vec<Json> = ["apiVersion", "kind", "metadata"]
        .map(Json::from)
        .into_iter()
        .collect();
    for name in top
        .get("required")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if !required.contains(name) {
            required.push(name.clone());
        }
    }
    top.insert("required".to_owned(), Json::Array(required));
    let mut derived = Map::new();
    derived.insert(
        "$schema".to_owned(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    derived.insert(
        "$comment".to_owned(),
        json!(format!(
            "{GROUP}/{VERSION} {kind}, derived by xtask (xtask/src/infra/gateway.rs) from the \
             openAPIV3Schema of Gateway API {BUNDLE_VERSION}'s standard-channel CRD; do not edit"
        )),
    );
    derived.extend(std::mem::take(top));
    Ok(Json::Object(derived))
}

/// Makes an OpenAPI schema a closed JSON schema, in place (see the module's documentation).
#[cfg(test)]
fn close(schema: &mut Json) {
    let Json::Object(object) = schema else {
        return;
    };
    object.remove("description");
    if object.remove("nullable") == Some(Json::Bool(true))
        && let Some(Json::String(single)) = object.get("type").cloned()
    {
        object.insert("type".to_owned(), json!([single, "null"]));
    }
    let open = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
    if object.contains_key("properties") && !object.contains_key("additionalProperties") && !open {
        object.insert("additionalProperties".to_owned(), Json::Bool(false));
    }
    // Into the subschemas only: a property may be named like a keyword (`description`), and
    // the rules, enums and defaults are data.
    for (keyword, value) in object.iter_mut() {
        match (keyword.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Json::Object(named)) => {
                named.values_mut().for_each(close);
            }
            ("allOf" | "anyOf" | "oneOf" | "items", Json::Array(list)) => {
                list.iter_mut().for_each(close);
            }
            ("items" | "additionalProperties" | "not", subschema) => close(subschema),
            _ => {}
        }
    }
}

/// The schema as it is written to its file: keys sorted, pretty, with a final newline.
///
/// Sorting makes the text independent of serde_json's `preserve_order` feature, which a
/// workspace-wide build turns on (utoipa asks for it) and `cargo test -p xtask` does not.
#[cfg(test)]
pub(crate) fn to_file_text(schema: &Json) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(schema)).unwrap_or_default();
    text.push('\n');
    text
}

/// A copy of `value` whose objects list their keys in sorted order.
#[cfg(test)]
fn sorted(value: &Json) -> Json {
    match value {
        Json::Object(object) => {
            let mut entries: Vec<_> = object.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            Json::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), sorted(value)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_owned()
    }

    /// A CRD like the Gateway API's, small.
    fn crd(bundle: &str) -> Yaml {
        serde_yaml::from_str(&format!(
            r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    gateway.networking.k8s.io/bundle-version: {bundle}
    gateway.networking.k8s.io/channel: standard
spec:
  group: gateway.networking.k8s.io
  names: {{kind: Widget}}
  versions:
    - name: v1beta1
      schema: {{openAPIV3Schema: {{type: object}}}}
    - name: v1
      schema:
        openAPIV3Schema:
          description: A widget.
          type: object
          required: [spec]
          properties:
            apiVersion: {{type: string}}
            kind: {{type: string}}
            metadata: {{type: object}}
            spec:
              type: object
              x-kubernetes-validations:
                - rule: "self.size > 0"
                  message: "a rule, kept as it is"
              properties:
                size: {{type: integer, nullable: true, description: How big.}}
                labels:
                  type: object
                  additionalProperties: {{type: string}}
                anything:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known: {{type: string}}
"#
        ))
        .unwrap()
    }

    #[test]
    fn the_derived_schema_is_closed_and_names_its_kind() {
        let schema = derive_schema(&crd(BUNDLE_VERSION), "Widget").unwrap();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert!(schema.get("description").is_none());
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["required"],
            json!(["apiVersion", "kind", "metadata", "spec"])
        );
        let properties = &schema["properties"];
        assert_eq!(
            properties["apiVersion"]["const"],
            "gateway.networking.k8s.io/v1"
        );
        assert_eq!(properties["kind"]["const"], "Widget");
        let spec = &properties["spec"];
        assert_eq!(
            spec["additionalProperties"], false,
            "unknown fields refused"
        );
        assert_eq!(
            spec["x-kubernetes-validations"][0]["message"],
            "a rule, kept as it is"
        );
        assert_eq!(
            spec["properties"]["size"],
            json!({"type": ["integer", "null"]})
        );
        // A map keeps its value schema; an object that keeps unknown fields stays open.
        assert_eq!(
            spec["properties"]["labels"]["additionalProperties"],
            json!({"type": "string"})
        );
        assert!(
            spec["properties"]["anything"]
                .get("additionalProperties")
                .is_none()
        );
    }

    #[test]
    fn a_crd_of_another_kind_release_or_channel_is_refused() {
        assert!(derive_schema(&crd(BUNDLE_VERSION), "Gateway").is_err());
        let error = derive_schema(&crd("v1.2.0"), "Widget").unwrap_err();
        assert!(error.to_string().contains("v1.2.0"), "{error}");
        let mut experimental = crd(BUNDLE_VERSION);
        experimental["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] =
            Yaml::from("experimental");
        assert!(derive_schema(&experimental, "Widget").is_err());
    }

    #[test]
    fn the_checked_in_schemas_are_strict_about_the_fields_production_uses() {
        for known in SCHEMAS {
            let schema: Json =
                serde_json::from_str(&std::fs::read_to_string(root().join(known.schema)).unwrap())
                    .unwrap();
            assert_eq!(schema["properties"]["kind"]["const"], known.kind);
            let spec = &schema["properties"]["spec"];
            assert_eq!(spec["additionalProperties"], false, "{}", known.kind);
        }
        let gateway: Json =
            serde_json::from_str(&std::fs::read_to_string(root().join(SCHEMAS[0].schema)).unwrap())
                .unwrap();
        let listener = &gateway["properties"]["spec"]["properties"]["listeners"]["items"];
        assert_eq!(listener["additionalProperties"], false);
        assert!(listener["properties"]["tls"].is_object());
    }

    /// Where the Gateway API CRDs are: `$GATEWAY_API_CRDS`, else the shared schemas beside the
    /// workspace, if either exists.
    fn crds_dir() -> Option<PathBuf> {
        let dir = match std::env::var_os("GATEWAY_API_CRDS") {
            Some(dir) => PathBuf::from(dir),
            None => root()
                .join("..")
                .join("shared/schemas")
                .join(format!("gateway-api-{BUNDLE_VERSION}")),
        };
        dir.is_dir().then_some(dir)
    }

    #[test]
    fn the_checked_in_schemas_are_derived_from_the_crds() {
        let Some(dir) = crds_dir() else {
            eprintln!(
                "the Gateway API {BUNDLE_VERSION} CRDs are not here (set GATEWAY_API_CRDS to \
                 their directory): the checked-in schemas are not compared with them"
            );
            return;
        };
        let update = std::env::var_os("UPDATE_GATEWAY_SCHEMAS").is_some_and(|value| value == "1");
        for known in SCHEMAS {
            let source = std::fs::read_to_string(dir.join(known.crd)).unwrap();
            let crd: Yaml = serde_yaml::from_str(&source).unwrap();
            let derived = to_file_text(&derive_schema(&crd, known.kind).unwrap());
            let path = root().join(known.schema);
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &derived).unwrap();
                continue;
            }
            let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                checked_in == derived,
                "{} is not what {} derives to: run with UPDATE_GATEWAY_SCHEMAS=1",
                known.schema,
                known.crd
            );
        }
    }
}
