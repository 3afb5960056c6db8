//! Stripe for the local stack: the real one when `STRIPE_KEY` is set, else a local stand-in.
//!
//! Without a key, `up` runs the `stripe-fake` program (built with the services) on a free
//! loopback port (test tokens such as `tok_visa` succeed, `tok_chargeDeclined` is declined;
//! PaymentIntents are confirmed through its stand-in Stripe.js) and points payments and the
//! client at it, so the whole purchase works offline. It delivers its webhooks through the
//! ingress to `POST /api/payments/webhook`, signed with the data directory's
//! `STRIPE_WEBHOOK_SECRET`, which payments gets too. It is a process of its own so that xtask,
//! built before anything else on a fresh clone, links no web stack: its build is time spent
//! before any command can start. With a key, `STRIPE_KEY`, `STRIPE_WEBHOOK_SECRET`,
//! `STRIPE_PUBLISHABLE_KEY` and `STRIPE_API_BASE` (if any) reach the services unchanged.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use devservers::process::Readiness;
use devservers::{LineSink, ServerProcess};

/// The key payments gets when it talks to the stand-in (which accepts any).
pub(crate) const STAND_IN_KEY: &str = "sk_test_local_stand_in";

/// The publishable key the client's pages give the stand-in Stripe.js (which accepts any).
pub(crate) const STAND_IN_PUBLISHABLE_KEY: &str = "pk_test_local_stand_in";

/// How long the stand-in may take to listen.
const STAND_IN_START: Duration = Duration::from_secs(10);

/// A running stand-in, or nothing when a real key is configured. Stops when dropped.
#[derive(Debug)]
pub(crate) struct Stripe {
    /// The `stripe-fake` process, built with the services (xtask itself links none of it).
    stand_in: Option<ServerProcess>,
    /// The secret the stand-in signs its webhooks with.
    webhook_secret: String,
}

/// Where the stand-in delivers its webhooks, and what it signs them with.
#[derive(Clone, Copy)]
pub(crate) struct Webhooks<'a> {
    /// `http://127.0.0.1:<ingress>/api/payments/webhook`.
    pub(crate) url: &'a str,
    /// `whsec_...`.
    pub(crate) secret: &'a str,
}

impl Stripe {
    /// Starts the stand-in, the `stripe-fake` program at `binary` delivering `webhooks`,
    /// unless `stripe_key` (xtask's `STRIPE_KEY`) is set.
    pub(crate) fn start(
        stripe_key: Option<&str>,
        binary: Option<&Path>,
        webhooks: Webhooks<'_>,
        sink: LineSink,
    ) -> anyhow::Result<Stripe> {
        if stripe_key.is_some_and(|key| !key.trim().is_empty()) {
            return Ok(Stripe {
                stand_in: None,
                webhook_secret: String::new(),
            });
        }
        let binary = binary.ok_or_else(|| {
            anyhow::anyhow!("no STRIPE_KEY, and the stripe-fake stand-in was not built")
        })?;
        let mut attempt = 1;
        let process = loop {
            let port = devservers::free_port()?;
            let mut command = Command::new(binary);
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--webhook-url", webhooks.url])
                // By the environment, not the command line, which other users can read.
                .env("STRIPE_FAKE_WEBHOOK_SECRET", webhooks.secret)
                .env("RUST_LOG", "warn");
            match ServerProcess::start(
                "stripe",
                command,
                Readiness::Tcp(port),
                sink.clone(),
                STAND_IN_START,
            ) {
                // Another process took the free port in the meantime: try another one.
                Err(error) if error.is_address_in_use() && attempt < 3 => attempt += 1,
                result => break result?,
            }
        };
        Ok(Stripe {
            stand_in: Some(process),
            webhook_secret: webhooks.secret.to_owned(),
        })
    }

    /// Where the stand-in listens, if it runs.
    pub(crate) fn stand_in_url(&self) -> Option<String> {
        self.stand_in
            .as_ref()
            .map(|process| format!("http://127.0.0.1:{}", process.port()))
    }

    /// The stand-in's process, if it runs.
    pub(crate) fn process(&mut self) -> Option<&mut ServerProcess> {
        self.stand_in.as_mut()
    }

    /// The stand-in's process, if it runs.
    pub(crate) fn process_ref(&self) -> Option<&ServerProcess> {
        self.stand_in.as_ref()
    }

    /// The variables that point the services at the stand-in (none for real Stripe): payments
    /// calls its API and verifies its webhooks, the client's pages load its Stripe.js.
    pub(crate) fn environment(&self) -> Vec<(&'static str, String)> {
        match self.stand_in_url() {
            Some(url) => vec![
                ("STRIPE_KEY", STAND_IN_KEY.to_owned()),
                ("STRIPE_WEBHOOK_SECRET", self.webhook_secret.clone()),
                (
                    "STRIPE_PUBLISHABLE_KEY",
                    STAND_IN_PUBLISHABLE_KEY.to_owned(),
                ),
                ("STRIPE_JS_URL", format!("{url}/v3/")),
                ("STRIPE_API_BASE", url),
            ],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> LineSink {
        std::sync::Arc::new(|_: &str| {})
    }

    const WEBHOOKS: Webhooks<'static> = Webhooks {
        url: "http://127.0.0.1:1/api/payments/webhook",
        secret: "whsec_test",
    };

    #[test]
    fn a_real_key_starts_nothing_and_overrides_nothing() {
        let stripe = Stripe::start(Some("sk_test_123"), None, WEBHOOKS, quiet()).unwrap();
        assert_eq!(stripe.stand_in_url(), None);
        assert!(stripe.environment().is_empty());
    }

    #[test]
    fn without_a_key_the_stand_in_must_have_been_built() {
        let error = Stripe::start(Some(" "), None, WEBHOOKS, quiet()).unwrap_err();
        assert!(error.to_string().contains("stripe-fake"), "{error}");
    }
}
