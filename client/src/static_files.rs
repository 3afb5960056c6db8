//! The stylesheet and the scripts, compiled into the binary, each linked with a fingerprint of
//! its content (`/static/app.css?v=<hash>`): a changed file has a new URL. Pages link them
//! ([`crate::page::Layout`], and the order page the payment script); [`crate::assets`] serves
//! them.

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
const PAYMENT_JS: &str = include_str!("../static/payment.js");

/// The stylesheet: a small Bootstrap-like one of our own.
pub static STYLESHEET: Asset = Asset {
    name: "app.css",
    content_type: "text/css; charset=utf-8",
    body: CSS,
    fingerprint: LazyLock::new(|| fingerprint(CSS)),
    url: LazyLock::new(|| versioned_url("app.css", CSS)),
};

/// The script of every page: the ticking countdown, the price field, one click of the
/// test-card button.
pub static SCRIPT: Asset = Asset {
    name: "app.js",
    content_type: "text/javascript; charset=utf-8",
    body: JS,
    fingerprint: LazyLock::new(|| fingerprint(JS)),
    url: LazyLock::new(|| versioned_url("app.js", JS)),
};

/// The order page's script when `STRIPE_PUBLISHABLE_KEY` is set: paying with Stripe's Payment
/// Element (a PaymentIntent from `/api/payments/intents`, 3-D Secure, waiting for the order to
/// complete).
pub static PAYMENT_SCRIPT: Asset = Asset {
    name: "payment.js",
    content_type: "text/javascript; charset=utf-8",
    body: PAYMENT_JS,
    fingerprint: LazyLock::new(|| fingerprint(PAYMENT_JS)),
    url: LazyLock::new(|| versioned_url("payment.js", PAYMENT_JS)),
};

/// Every static file, for serving by name.
pub(crate) const ASSETS: [&Asset; 3] = [&STYLESHEET, &SCRIPT, &PAYMENT_SCRIPT];

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
        assert!(PAYMENT_SCRIPT.url().starts_with("/static/payment.js?v="));
    }
}
