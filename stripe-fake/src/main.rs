//! `stripe-fake --port N [--webhook-url URL --webhook-secret SECRET]`: serves the Stripe
//! stand-in until killed, and prints its base URL (`stripe-fake listening on http://HOST:PORT`)
//! once it accepts connections.

use std::io::Write;

use clap::Parser;
use stripe_fake::{DEFAULT_WEBHOOK_ATTEMPTS, Options, WebhookTarget};

/// A local stand-in for Stripe's charges, refunds, payment intents, webhooks and Stripe.js.
#[derive(Debug, Parser)]
#[command(name = "stripe-fake", version)]
struct Args {
    /// The port to listen on (0 picks a free one).
    #[arg(long, env = "STRIPE_FAKE_PORT", default_value_t = 12111)]
    port: u16,
    /// The interface to listen on.
    #[arg(long, env = "STRIPE_FAKE_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Where to deliver webhook events (none: events are only recorded).
    #[arg(long, env = "STRIPE_FAKE_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The endpoint's signing secret, for `Stripe-Signature`.
    #[arg(long, env = "STRIPE_FAKE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// How many times an event is sent before the fake stops retrying it.
    #[arg(long, env = "STRIPE_FAKE_WEBHOOK_ATTEMPTS", default_value_t = DEFAULT_WEBHOOK_ATTEMPTS)]
    webhook_attempts: u32,
    /// The origin browsers reach the fake at, if not the `Host` requests name.
    #[arg(long, env = "STRIPE_FAKE_PUBLIC_URL")]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let webhook = match (args.webhook_url, args.webhook_secret) {
        (Some(url), Some(secret)) => Some(WebhookTarget { url, secret }),
        _ => None,
    };
    let options = Options {
        webhook,
        webhook_attempts: args.webhook_attempts,
        public_url: args.public_url,
    };
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let fake = stripe_fake::serve_with(listener, options)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "stripe-fake listening on {}", fake.base_url())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(base_url = fake.base_url(), "stripe-fake ready");
    fake.wait().await?;
    Ok(())
}
