#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = payments::Config::from_env()?;
    payments::build(config).await?.run_until_stopped().await?;
    Ok(())
}
