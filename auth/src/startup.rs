//! Building and running the auth application.

use std::future::Future;

use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;
use common::health::Readiness;
use common::session::Sessions;
use tokio::net::TcpListener;

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

/// A built application bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    app: Router,
}

impl Application {
    /// Connects to the database, ensures its indexes, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
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
        let app = common::server::app(
            crate::routes::router().with_state(state),
            Readiness::new().with_mongo(database),
        );
        let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
        Ok(Application { listener, app })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_default()
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(common::shutdown::signal()).await
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        common::server::serve(self.listener, self.app, shutdown).await
    }
}
