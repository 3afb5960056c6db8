//! What every service with a database reads alike (where it listens, its database, its
//! sessions and the bus), and connecting to it at start.

use anyhow::Context;
use axum::Router;
use mongodb::Database;

use crate::background::Background;
use crate::bus::{Bus, BusSettings};
use crate::health::Readiness;
use crate::mongo::Commands;
use crate::revocation::RevocationBucket;
use crate::server::Server;
use crate::session::{SessionSettings, Sessions};

use super::{ConfigError, Listen, flag, required};

/// What auth, tickets, orders and payments read alike; each one's `Config` holds it beside the
/// settings of its own.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// `HOST`, `PORT` and `REQUEST_TIMEOUT_SECONDS`.
    pub listen: Listen,
    /// `MONGO_URI`, naming the service's database (`mongodb://orders-mongo-srv:27017/orders`).
    pub mongo_uri: String,
    /// `MONGO_COMMAND_METRICS` (default false): count and time every database command
    /// ([`crate::mongo::Commands`]).
    pub mongo_commands: Commands,
    /// `JWT_KEY`, `JWT_TTL_SECONDS`, `COOKIE_SECURE`, `REVOCATIONS_MAX_ENTRIES` and
    /// `SESSION_CACHE_ENTRIES`.
    pub sessions: SessionSettings,
    /// `NATS_CLIENT_ID`, `NATS_URL`, `NATS_USER`, `NATS_PASSWORD` and the streams' bounds.
    pub bus: BusSettings,
}

impl ServiceSettings {
    /// Reads the settings. A missing one is `<NAME> must be defined`, checked in the original's
    /// order: `JWT_KEY`, `MONGO_URI`, `NATS_CLIENT_ID`, `NATS_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let sessions = SessionSettings::from_env()?;
        let mongo_uri = required("MONGO_URI")?;
        let bus = BusSettings::from_env()?;
        let mongo_commands = if flag("MONGO_COMMAND_METRICS", false)? {
            Commands::Counted
        } else {
            Commands::Uncounted
        };
        Ok(ServiceSettings {
            listen: Listen::from_env()?,
            mongo_uri,
            mongo_commands,
            sessions,
            bus,
        })
    }

    /// Connects to the database (`database`, unless `MONGO_URI` names one) and the bus, and
    /// reads the revocations bucket, which the background work then follows. Nothing listens
    /// yet: [`Connections::bind`] does.
    pub async fn connect(&self, database: &str) -> anyhow::Result<Connections> {
        let database =
            crate::mongo::connect_with(&self.mongo_uri, database, self.mongo_commands).await?;
        let bus = Bus::connect_with(&self.bus)
            .await
            .context("connecting to the event bus (is NATS reachable at NATS_URL?)")?;
        let mut background = Background::new();
        let (sessions, revocations) =
            crate::revocation::sessions(&bus, &self.sessions, &mut background)
                .await
                .context("reading the revocations bucket")?;
        Ok(Connections {
            listen: self.listen.clone(),
            database,
            bus,
            sessions,
            revocations,
            background,
        })
    }
}

/// What a service with a database holds once connected.
pub struct Connections {
    listen: Listen,
    /// Its database.
    pub database: Database,
    /// The bus, for its listeners and its outbox relay.
    pub bus: Bus,
    /// Reads session cookies, refusing those the revocations bucket names.
    pub sessions: Sessions,
    /// The bucket itself, which auth alone may write.
    pub revocations: RevocationBucket,
    /// Its background work: so far, following the bucket; the service adds its own.
    pub background: Background,
}

impl Connections {
    /// What `/readyz` checks: the database and the bus answer.
    pub fn readiness(&self) -> Readiness {
        Readiness::new()
            .with_mongo(self.database.clone())
            .with_bus(self.bus.clone())
    }

    /// Binds the service's port for `app`, and hands it the background work to run.
    pub async fn bind(self, app: Router) -> std::io::Result<Server> {
        let server = Server::bind(&self.listen, app).await?;
        Ok(server.with_background(self.background))
    }
}
