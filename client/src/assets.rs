//! Serving the stylesheet and the scripts ([`crate::static_files`]) under `/static/`.
//!
//! Each is linked with a fingerprint of its content (`/static/app.css?v=<hash>`), so a browser
//! may keep it for a year: a changed file has a new URL. An `ETag` lets a browser that asks
//! anyway get a `304 Not Modified`. Nothing is ever fetched from another site.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::page::PageError;
use crate::static_files::ASSETS;

/// `Cache-Control` of a fingerprinted URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of an asset asked for without its current fingerprint.
pub const REVALIDATE: &str = "public, max-age=300";

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
