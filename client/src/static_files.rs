//! The stylesheet and the script, compiled into the binary, each linked with a fingerprint of
//! its content (`/static/app.css?v=<hash>`): a changed file has a new URL. Pages link them
//! ([`crate::page::Layout`]); [`crate::assets`] serves them.

use std::sync::LazyLock;

/// One static file.
pub struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static str,
    pub(crate) fingerprint: LazyLock<String>,
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

/// Every static file, for serving by name.
pub(crate) const ASSETS: [&Asset; 2] = [&STYLESHEET, &SCRIPT];

impl Asset {
    /// The URL pages link to: `/static/<name>?v=<fingerprint>`.
    pub fn url(&'static self) -> &'static str {
        self.url.as_str()
    }

    /// The `ETag` value: the fingerprint, quoted.
    pub(crate) fn etag(&self) -> String {
        format!("\"{}\"", *self.fingerprint)
    }
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
