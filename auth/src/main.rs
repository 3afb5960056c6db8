#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = auth::Config::from_env()?;
    auth::build(config).await?.run_until_stopped().await?;
    Ok(())
}
