#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let config = client::Config::from_env()?;
    client::build(config).await?.run_until_stopped().await?;
    Ok(())
}
