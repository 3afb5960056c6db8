#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = orders::Config::from_env()?;
    orders::build(config).await?.run_until_stopped().await?;
    Ok(())
}
