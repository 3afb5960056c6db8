//! `stripe-fake --port N`: serves the Stripe stand-in until killed, and prints its base URL
//! (`stripe-fake listening on http://HOST:PORT`) once it accepts connections.

use std::io::Write;

use clap::Parser;

/// A local stand-in for Stripe's charges and refunds.
#[derive(Debug, Parser)]
#[command(name = "stripe-fake", version)]
struct Args {
    /// The port to listen on (0 picks a free one).
    #[arg(long, env = "STRIPE_FAKE_PORT", default_value_t = 12111)]
    port: u16,
    /// The interface to listen on.
    #[arg(long, env = "STRIPE_FAKE_HOST", default_value = "127.0.0.1")]
    host: String,
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
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let fake = stripe_fake::serve(listener)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "stripe-fake listening on {}", fake.base_url())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(base_url = fake.base_url(), "stripe-fake ready");
    fake.wait().await?;
    Ok(())
}
