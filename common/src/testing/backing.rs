//! What one test's replicas of a service share: a database and a bus namespace of their own,
//! and probes of what the service has not finished yet (its consumers, its outbox).

use mongodb::Database;

use super::events::{Backlog, backlog, backlog_of, eventually};
use crate::bus::access::BusUser;
use crate::bus::{Bus, BusSettings};
use crate::config::{Listen, ServiceSettings};
use crate::events::Event;
use crate::outbox;

/// The servers behind one test's replicas of `service`. Every replica started from it shares
/// its database and namespace; each service's test helpers wrap it with their models.
#[derive(Clone)]
pub struct Backing {
    /// The service: its queue group, and the subjects it listens to.
    pub service: BusUser,
    /// Where its replicas connect to the bus: a namespace of the test's own.
    pub bus_settings: BusSettings,
    /// The test's own connection, to publish events and read published ones.
    pub bus: Bus,
    /// The URI its replicas connect with, and the test's own connection; none for a service
    /// without a database.
    database: Option<(String, Database)>,
}

impl Backing {
    /// A fresh database and bus namespace for `service`, with no replica running yet.
    pub async fn new(service: BusUser) -> Backing {
        let mongo_uri = super::mongo_uri();
        let database = match crate::mongo::connect(&mongo_uri, service.name).await {
            Ok(database) => database,
            Err(error) => panic!("test harness: connecting to {mongo_uri}: {error:#}"),
        };
        let mut backing = Backing::without_database(service, super::bus_settings()).await;
        backing.database = Some((mongo_uri, database));
        backing
    }

    /// `service`, which keeps no database, on the bus `bus_settings` name.
    pub async fn without_database(service: BusUser, bus_settings: BusSettings) -> Backing {
        let bus = match Bus::connect_with(&bus_settings).await {
            Ok(bus) => bus,
            Err(error) => panic!("test harness: connecting to the bus: {error:#}"),
        };
        Backing {
            service,
            bus_settings,
            bus,
            database: None,
        }
    }

    /// The URI its replicas connect to the database with.
    pub fn mongo_uri(&self) -> &str {
        &self.stored().0
    }

    /// The test's own connection to the database.
    pub fn database(&self) -> &Database {
        &self.stored().1
    }

    fn stored(&self) -> &(String, Database) {
        match &self.database {
            Some(stored) => stored,
            None => panic!("{} keeps no database", self.service.name),
        }
    }

    /// What a replica reads: a random port, the tests' sessions, this database and namespace.
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings {
            listen: Listen::loopback_any_port(),
            mongo_uri: self.mongo_uri().to_owned(),
            mongo_commands: crate::mongo::Commands::Uncounted,
            sessions: super::session_settings(),
            bus: self.bus_settings.clone(),
        }
    }

    /// Publishes `event` with a fresh message id, as another service's relay would.
    pub async fn publish<E: Event>(&self, event: &E) {
        super::events::publish(&self.bus, event).await;
    }

    /// The state of the service's durable consumer for `E`.
    pub async fn consumer_backlog<E: Event>(&self) -> Backlog {
        backlog::<E>(&self.bus, self.service.queue_group).await
    }

    /// Whether the service's durable consumer for `E` has nothing undelivered or unacked.
    pub async fn consumer_drained<E: Event>(&self) -> bool {
        self.consumer_backlog::<E>().await.is_drained()
    }

    /// Waits until the service's consumer for `E` refused an event and got it again.
    pub async fn wait_until_redelivered<E: Event>(&self) {
        eventually("an event is refused and redelivered", || async {
            self.consumer_backlog::<E>().await.redelivered > 0
        })
        .await;
    }

    /// How many outbox records wait to be published.
    pub async fn outbox_pending(&self) -> u64 {
        match outbox::pending_anywhere(self.database()).await {
            Ok(pending) => pending,
            Err(error) => panic!("reading the outbox: {error:#}"),
        }
    }

    /// Waits until every event published so far to the service was handled and acked, and
    /// everything it recorded in its outbox (if it has a database) was published.
    pub async fn settled(&self) {
        eventually(
            "the listeners acked everything and the outbox is empty",
            || async {
                for subject in self.service.listens {
                    let group = self.service.queue_group;
                    if !backlog_of(&self.bus, group, *subject).await.is_drained() {
                        return false;
                    }
                }
                self.database.is_none() || self.outbox_pending().await == 0
            },
        )
        .await;
    }
}
