//! `fleet-service NAME`: runs the service NAME (auth, tickets, orders, expiration, payments)
//! exactly as its own binary does, configured from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let name = std::env::args().nth(1).unwrap_or_default();
    let server = match name.as_str() {
        "auth" => auth::build(auth::Config::from_env()?).await?,
        "tickets" => tickets::build(tickets::Config::from_env()?).await?,
        "orders" => orders::build(orders::Config::from_env()?).await?,
        "expiration" => expiration::build(expiration::Config::from_env()?).await?,
        "payments" => payments::build(payments::Config::from_env()?).await?,
        other => anyhow::bail!(
            "unknown service {other:?}: expected auth, tickets, orders, expiration or payments"
        ),
    };
    server.run_until_stopped().await?;
    Ok(())
}
