//! The client's settings, read once from the environment.

use common::config::{self, ConfigError, Listen};
use reqwest::Url;

/// Everything the client reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` (default all interfaces) and `PORT` (default 3000).
    pub listen: Listen,
    /// `API_BASE_URL`: where the ingress answers the API, from inside the cluster
    /// (`http://ingress-nginx-controller.ingress-nginx.svc.cluster.local`). Required.
    pub api_base_url: Url,
    /// `STRIPE_PUBLISHABLE_KEY`: when set, the order page pays with Stripe's Payment Element
    /// (a PaymentIntent, 3-D Secure when the card asks for it); when not, it offers "Pay with
    /// test card" (`tok_visa`) and no page loads anything from another site.
    pub stripe_publishable_key: Option<String>,
    /// `STRIPE_JS_URL` (default [`DEFAULT_STRIPE_JS_URL`]): where the order page loads Stripe.js
    /// from when `STRIPE_PUBLISHABLE_KEY` is set. Stripe requires its own; the local stack
    /// points it at a fake Stripe's stand-in (`http://127.0.0.1:12111/v3/`), whose origin then
    /// takes Stripe's place in the Content-Security-Policy.
    pub stripe_js_url: Url,
    /// `API_ANSWER_MAX_BYTES` (default 8 MiB): the longest API answer a page reads; a longer
    /// one is the error page, not a page that holds it all in memory.
    pub max_answer_bytes: usize,
}

/// [`Config::stripe_js_url`] by default: Stripe.js as Stripe serves it.
pub const DEFAULT_STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

/// [`Config::max_answer_bytes`] by default.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

impl Config {
    /// Reads the settings; a missing `API_BASE_URL` is `API_BASE_URL must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let api_base_url = parse_api_base_url(&config::required("API_BASE_URL")?)?;
        let stripe_js_url = parse_stripe_js_url(
            config::optional("STRIPE_JS_URL")
                .as_deref()
                .unwrap_or(DEFAULT_STRIPE_JS_URL),
        )?;
        Ok(Config {
            listen: Listen::from_env()?,
            api_base_url,
            stripe_publishable_key: config::optional("STRIPE_PUBLISHABLE_KEY"),
            stripe_js_url,
            max_answer_bytes: config::parsed_or("API_ANSWER_MAX_BYTES", DEFAULT_MAX_ANSWER_BYTES)?,
        })
    }
}

/// An absolute `http`/`https` URL; the API paths are joined to its origin.
pub fn parse_api_base_url(text: &str) -> Result<Url, ConfigError> {
    parse_http_url("API_BASE_URL", text)
}

/// An absolute `http`/`https` URL of Stripe.js; its origin goes into the CSP.
pub fn parse_stripe_js_url(text: &str) -> Result<Url, ConfigError> {
    parse_http_url("STRIPE_JS_URL", text)
}

/// `text` as an absolute `http`/`https` URL with a host, or why the setting `name` is invalid.
fn parse_http_url(name: &'static str, text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    let url = Url::parse(text.trim()).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(format!("{text:?} is not an http(s) URL")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_base_url_must_be_an_http_url() {
        for good in [
            "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local",
            "http://127.0.0.1:8080",
            "https://www.example.com/",
        ] {
            assert!(parse_api_base_url(good).is_ok(), "{good}");
        }
        for bad in ["ingress:80", "ftp://example.com", "not a url", ""] {
            assert!(parse_api_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_js_is_stripes_unless_said_otherwise_and_must_be_an_http_url() {
        let default = parse_stripe_js_url(DEFAULT_STRIPE_JS_URL).unwrap();
        assert_eq!(default.as_str(), "https://js.stripe.com/v3/");
        let stand_in = parse_stripe_js_url("http://127.0.0.1:12111/v3/").unwrap();
        assert_eq!(
            stand_in.origin().ascii_serialization(),
            "http://127.0.0.1:12111"
        );
        for bad in ["js.stripe.com/v3/", "data:text/javascript,alert(1)", "/v3/"] {
            let error = parse_stripe_js_url(bad).unwrap_err().to_string();
            assert!(
                error.starts_with("STRIPE_JS_URL is not valid"),
                "{bad}: {error}"
            );
        }
    }
}
