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
    /// `STRIPE_PUBLISHABLE_KEY`: when set, cards are turned into tokens by Stripe.js; when not,
    /// the order page offers "Pay with test card" (`tok_visa`) and no page loads anything from
    /// another site.
    pub stripe_publishable_key: Option<String>,
    /// `API_ANSWER_MAX_BYTES` (default 8 MiB): the longest API answer a page reads; a longer
    /// one is the error page, not a page that holds it all in memory.
    pub max_answer_bytes: usize,
}

/// [`Config::max_answer_bytes`] by default.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

impl Config {
    /// Reads the settings; a missing `API_BASE_URL` is `API_BASE_URL must be defined`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let api_base_url = parse_api_base_url(&config::required("API_BASE_URL")?)?;
        Ok(Config {
            listen: Listen::from_env()?,
            api_base_url,
            stripe_publishable_key: config::optional("STRIPE_PUBLISHABLE_KEY"),
            max_answer_bytes: config::parsed_or("API_ANSWER_MAX_BYTES", DEFAULT_MAX_ANSWER_BYTES)?,
        })
    }
}

/// An absolute `http`/`https` URL; the API paths are joined to its origin.
pub fn parse_api_base_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "API_BASE_URL",
        reason,
    };
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
}
