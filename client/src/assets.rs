//! The stylesheet and the script, compiled into the binary and served under `/static/`.
//!
//! Each is linked with a fingerprint of its content (`/static/app.css?v=<hash>`), so a browser
//! may keep it for a year: a changed file has a new URL. An `ETag` lets a browser that asks
//! anyway get a `304 Not Modified`. Nothing is ever fetched from another site.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::page::PageError;

/// `Cache-Control` of a fingerprinted URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of an asset asked for without its current fingerprint.
pub const REVALIDATE: &str = "public, max-age=300";

/// One static file.
pub struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    fingerprint: LazyLock<String>,
    url: LazyLock<String>,
}

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// The stylesheet: a small Bootstrap-like one of our own.
pub static STYLESHEET: Asset = Asset {
    name: "app.css",
    content_type: "text/css; charset=utf-8",
    body: CSS,
    fingerprint: LazyLock::new(|| fingerprint(CSS)),
    url: LazyLock::new(|| versioned_url("app.css", CSS)),
};

/// The script: the ticking countdown, the price field, and paying.
pub static SCRIPT: Asset = Asset {
    name: "app.js",
    content_type: "text/javascript; charset=utf-8",
    body: JS,
    fingerprint: LazyLock::new(|| fingerprint(JS)),
    url: LazyLock::new(|| versioned_url("app.js", JS)),
};

const ASSETS: [&Asset; 2] = [&STYLESHEET, &SCRIPT];

impl Asset {
    /// The URL pages link to: `/static/<name>?v=<fingerprint>`.
    pub fn url(&'static self) -> &'static str {
        self.url.as_str()
    }

    /// The `ETag` value: the fingerprint, quoted.
    fn etag(&self) -> String {
        format!("\"{}\"", *self.fingerprint)
    }
}

/// The query of an asset URL.
#[derive(Debug, Deserialize)]
pub struct AssetQuery {
    v: Option<String>,
}

/// `GET /static/{name}`: the asset with its caching headers, or `304` when the browser's copy
/// is current.
pub async fn serve_asset(
    Path(name): Path<String>,
    Query(query): Query<AssetQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let asset = ASSETS
        .into_iter()
        .find(|asset| asset.name == name)
        .ok_or(PageError::NotFound)?;
    let etag = asset.etag();
    let cache_control = if query.v.as_deref() == Some(asset.fingerprint.as_str()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

/// A short, stable fingerprint of `body` (64-bit FNV-1a, hex): enough to tell versions apart.
fn fingerprint(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn versioned_url(name: &str, body: &str) -> String {
    format!("/static/{name}?v={}", fingerprint(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_change_with_the_content() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert_eq!(fingerprint("").len(), 16);
        assert!(STYLESHEET.url().starts_with("/static/app.css?v="));
        assert!(SCRIPT.url().ends_with(SCRIPT.fingerprint.as_str()));
    }
}
