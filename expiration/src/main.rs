#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = expiration::Config::from_env()?;
    expiration::build(config).await?.run_until_stopped().await?;
    Ok(())
}
