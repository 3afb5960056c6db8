use client::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = Config::from_env()?;
    let server = client::build(config).await?;
    tracing::info!(port = server.port(), "client listening");
    server.run_until_stopped().await?;
    Ok(())
}
