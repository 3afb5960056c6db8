//! Stripe for the local stack: the real one when `STRIPE_KEY` is set, else a local stand-in.
//!
//! Without a key, `up` serves [`stripe_fake`] in-process on a free loopback port (test tokens
//! such as `tok_visa` succeed, `tok_chargeDeclined` is declined) and points payments at it, so
//! the whole purchase works offline. With a key, `STRIPE_KEY` and `STRIPE_API_BASE` (if any)
//! reach payments unchanged.

use anyhow::Context;

/// The key payments gets when it talks to the stand-in (which accepts any).
pub(crate) const STAND_IN_KEY: &str = "sk_test_local_stand_in";

/// A running stand-in, or nothing when a real key is configured. Stops when dropped.
#[derive(Debug)]
pub(crate) struct Stripe {
    stand_in: Option<StandIn>,
}

#[derive(Debug)]
struct StandIn {
    base_url: String,
    // Dropping the runtime stops the server task.
    _runtime: tokio::runtime::Runtime,
    _fake: stripe_fake::StripeFake,
}

impl Stripe {
    /// Starts the stand-in unless `stripe_key` (xtask's `STRIPE_KEY`) is set.
    pub(crate) fn start(stripe_key: Option<&str>) -> anyhow::Result<Stripe> {
        if stripe_key.is_some_and(|key| !key.trim().is_empty()) {
            return Ok(Stripe { stand_in: None });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the Stripe stand-in's runtime")?;
        let fake = runtime
            .block_on(stripe_fake::StripeFake::start())
            .context("starting the Stripe stand-in")?;
        Ok(Stripe {
            stand_in: Some(StandIn {
                base_url: fake.base_url().to_owned(),
                _runtime: runtime,
                _fake: fake,
            }),
        })
    }

    /// Where the stand-in listens, if it runs.
    pub(crate) fn stand_in_url(&self) -> Option<&str> {
        self.stand_in
            .as_ref()
            .map(|stand_in| stand_in.base_url.as_str())
    }

    /// The variables that point the services at the stand-in (none for real Stripe).
    pub(crate) fn environment(&self) -> Vec<(&'static str, String)> {
        match self.stand_in_url() {
            Some(url) => vec![
                ("STRIPE_KEY", STAND_IN_KEY.to_owned()),
                ("STRIPE_API_BASE", url.to_owned()),
            ],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    #[test]
    fn a_real_key_starts_nothing_and_overrides_nothing() {
        let stripe = Stripe::start(Some("sk_test_123")).unwrap();
        assert_eq!(stripe.stand_in_url(), None);
        assert!(stripe.environment().is_empty());
    }

    #[test]
    fn without_a_key_the_stand_in_charges_test_cards() {
        let stripe = Stripe::start(Some(" ")).unwrap();
        let env: std::collections::BTreeMap<_, _> = stripe.environment().into_iter().collect();
        assert_eq!(env["STRIPE_KEY"], STAND_IN_KEY);
        let address = env["STRIPE_API_BASE"]
            .trim_start_matches("http://")
            .to_owned();
        let body = "amount=2000&currency=usd&source=tok_visa";
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /v1/charges HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {STAND_IN_KEY}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"ch_"), "{answer}");
    }
}
