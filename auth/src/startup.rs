//! Building and running the auth application.

use anyhow::Context;
use axum::extract::FromRef;
use common::background::Background;
use common::client_address::ClientAddressSettings;
use common::health::Readiness;
use common::server::Server;
use common::session::Sessions;

use crate::config::Config;
use crate::limits::AuthLimits;
use crate::models::user::Users;
use crate::password::Passwords;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The users collection.
    pub users: Users,
    /// Issues and reads session cookies.
    pub sessions: Sessions,
    /// Hashes and checks passwords off the async runtime.
    pub passwords: Passwords,
    /// Sign-in and sign-up rate limits.
    pub limits: AuthLimits,
    /// Where the client's address is read from.
    pub client_addresses: ClientAddressSettings,
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        state.sessions.clone()
    }
}

impl FromRef<AppState> for ClientAddressSettings {
    fn from_ref(state: &AppState) -> ClientAddressSettings {
        state.client_addresses.clone()
    }
}

/// Connects to the database, ensures its indexes, binds the listener, and prunes the rate
/// limits in the background.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let database = common::mongo::connect(&config.mongo_uri, "auth").await?;
    let users = Users::new(&database);
    users
        .ensure_indexes()
        .await
        .context("creating the users indexes (is MongoDB reachable at MONGO_URI?)")?;
    let state = AppState {
        users,
        sessions: Sessions::new(&config.sessions),
        passwords: Passwords::new()?,
        limits: AuthLimits::new(&config.limits),
        client_addresses: config.client_addresses.clone(),
    };
    let limits = state.limits.clone();
    let app = common::server::app_with_instant(
        crate::routes::router().with_state(state.clone()),
        crate::routes::instant_router().with_state(state),
        Readiness::new().with_mongo(database),
    );
    let mut background = Background::new();
    background
        .spawn(move |stop| common::rate_limit::prune_until_stopped(move || limits.prune(), stop));
    Ok(Server::bind(&config.listen.host, config.listen.port, app)
        .await?
        .with_background(background))
}
