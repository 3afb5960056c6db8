#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = tickets::Config::from_env()?;
    tickets::build(config).await?.run_until_stopped().await?;
    Ok(())
}
