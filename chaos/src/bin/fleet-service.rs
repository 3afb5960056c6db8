//! `fleet-service NAME`: runs the service NAME (auth, tickets, orders, expiration, payments)
//! exactly as its own binary does, configured from the environment.

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_default();
    match name.as_str() {
        "auth" => auth::main(),
        "tickets" => tickets::main(),
        "orders" => orders::main(),
        "expiration" => expiration::main(),
        "payments" => payments::main(),
        other => anyhow::bail!(
            "unknown service {other:?}: expected auth, tickets, orders, expiration or payments"
        ),
    }
}
