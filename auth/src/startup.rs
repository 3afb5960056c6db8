//! Building and running the auth application.

use anyhow::Context;
use axum::extract::FromRef;
use common::health::Readiness;
use common::server::Server;
use common::session::Sessions;

use crate::config::Config;
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
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        state.sessions.clone()
    }
}

/// Connects to the database, ensures its indexes, and binds the listener.
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
    };
    let app = common::server::app_with_instant(
        crate::routes::router().with_state(state.clone()),
        crate::routes::instant_router().with_state(state),
        Readiness::new().with_mongo(database),
    );
    Ok(Server::bind(&config.listen.host, config.listen.port, app).await?)
}
