//! Building and running the auth application.

use anyhow::Context;
use axum::extract::FromRef;
use common::background::Background;
use common::bus::Bus;
use common::client_address::ClientAddressSettings;
use common::health::Readiness;
use common::revocation::RevocationBucket;
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
    /// Where signed-out tokens and bans are written, for every service.
    pub revocations: RevocationBucket,
    /// The emails of the users who may ban (`ADMIN_EMAILS`).
    pub admins: std::sync::Arc<[String]>,
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

/// Connects to the database and the bus, ensures the indexes, reads the revocations bucket,
/// binds the listener, and follows the bucket and prunes the rate limits in the background.
pub async fn build(config: Config) -> anyhow::Result<Server> {
    let database = common::mongo::connect(&config.mongo_uri, "auth").await?;
    let users = Users::new(&database);
    users
        .ensure_indexes()
        .await
        .context("creating the users indexes (is MongoDB reachable at MONGO_URI?)")?;
    let bus = Bus::connect_with(&config.bus)
        .await
        .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
    let mut background = Background::new();
    let (sessions, revocations) =
        common::revocation::sessions(&bus, &config.sessions, &mut background)
            .await
            .context("reading the revocations bucket")?;
    let state = AppState {
        users,
        sessions,
        passwords: Passwords::new()?,
        limits: AuthLimits::new(&config.limits),
        client_addresses: config.client_addresses.clone(),
        revocations,
        admins: config.admin_emails.clone().into(),
    };
    let limits = state.limits.clone();
    let app = common::server::app_with_instant(
        crate::routes::router().with_state(state.clone()),
        crate::routes::instant_router().with_state(state),
        Readiness::new().with_mongo(database).with_bus(bus),
    );
    background
        .spawn(move |stop| common::rate_limit::prune_until_stopped(move || limits.prune(), stop));
    Ok(Server::bind(&config.listen, app)
        .await?
        .with_background(background))
}
