//! A service's OpenAPI document in its tests: the checked-in copy (`docs/openapi/<service>.json`)
//! held equal to the generated one, and the document served beside the routes it describes.
//! `UPDATE_OPENAPI=1` writes the generated document instead, for a change meant to change it;
//! the diff is then reviewed like code.

use std::path::Path;

use utoipa::openapi::OpenApi;

use super::TestApp;
use crate::openapi::Documented;

/// Asserts what each service's tests check of its document: the checked-in copy is `document`
/// ([`assert_checked_in`]) and `app` serves it, describing exactly `paths` ([`assert_served`]).
pub async fn assert_published<B>(
    app: &TestApp<B>,
    manifest_dir: &str,
    documented: Documented,
    document: &OpenApi,
    paths: &[&str],
) {
    assert_checked_in(manifest_dir, documented, document);
    assert_served(app, documented, document, paths).await;
}

/// Asserts that `docs/openapi/<service>.json` of the workspace holding `manifest_dir` (the
/// service's `CARGO_MANIFEST_DIR`) holds `document`; with `UPDATE_OPENAPI` set, writes it.
pub fn assert_checked_in(manifest_dir: &str, documented: Documented, document: &OpenApi) {
    let checked_in = Path::new(manifest_dir)
        .join("../docs/openapi")
        .join(format!("{}.json", documented.service));
    let generated = match document.to_pretty_json() {
        Ok(json) => format!("{json}\n"),
        Err(error) => panic!("the document does not serialise: {error}"),
    };
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        if let Err(error) = std::fs::write(&checked_in, generated) {
            panic!("could not write {}: {error}", checked_in.display());
        }
        return;
    }
    let stored = std::fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is not the document the code generates: run the test again with UPDATE_OPENAPI=1 \
         and review the diff",
        checked_in.display()
    );
}

/// Asserts that `app` serves `document` at `documented`'s path, and that it describes exactly
/// `paths`, in any order.
pub async fn assert_served<B>(
    app: &TestApp<B>,
    documented: Documented,
    document: &OpenApi,
    paths: &[&str],
) {
    let response = app.get(documented.path, None).await;
    assert_eq!(response.status(), 200);
    let served: serde_json::Value = match response.json().await {
        Ok(served) => served,
        Err(error) => panic!("the served document is not JSON: {error}"),
    };
    assert_eq!(serde_json::to_value(document).ok(), Some(served.clone()));
    let mut described: Vec<&str> = served["paths"]
        .as_object()
        .map(|paths| paths.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut expected = paths.to_vec();
    described.sort_unstable();
    expected.sort_unstable();
    assert_eq!(described, expected);
}
