//! Building and running the auth application.

use anyhow::Context;
use common::server::{Server, Shared};

use crate::config::Config;
use crate::limits::AuthLimits;
use crate::models::user::Users;
use crate::password::Passwords;
use crate::state::Parts;

/// Connects to the database and the bus, reads the revocations bucket, ensures the indexes,
/// follows the bucket and prunes the rate limits in the background, and binds the port.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let mut connections = config.service.connect("auth").await?;
    let users = Users::new(&connections.database);
    users
        .ensure_indexes()
        .await
        .context("creating the users indexes (is MongoDB reachable at MONGO_URI?)")?;
    let limits = AuthLimits::new(&config.limits);

    let pruned = limits.clone();
    connections
        .background
        .spawn(move |stop| common::rate_limit::prune_until_stopped(move || pruned.prune(), stop));

    let state = Shared::new(Parts {
        users,
        sessions: connections.sessions.clone(),
        passwords: Passwords::new()?,
        limits,
        client_addresses: config.client_addresses,
        revocations: connections.revocations.clone(),
        admins: config.admin_emails.into(),
    });
    let app = common::server::app_with_instant(
        crate::routes::router().with_state(state.clone()),
        crate::routes::instant_router().with_state(state),
        connections.readiness(),
    );
    Ok(connections.bind(app).await?)
}
