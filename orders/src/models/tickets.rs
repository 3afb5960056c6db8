//! The `tickets` collection: the replica, kept in step with the tickets service's events
//! ([`common::replica`]). An update sets title, price and seller, and never touches
//! `reservedBy`, which is this service's own.

use common::bus::listener::Outcome;
use common::events::{TicketCreated, TicketUpdated};
use common::replica::{Replica, Versioned};
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::{Collection, Database};

use crate::models::ticket::TicketDocument;

impl Versioned for TicketDocument {
    fn version(&self) -> i64 {
        self.version
    }
}

/// The ticket replica. Cheap to clone.
#[derive(Clone)]
pub struct Tickets {
    replica: Replica<TicketDocument>,
}

impl Tickets {
    /// The `tickets` collection of `database`.
    pub fn new(database: &Database) -> Tickets {
        Tickets {
            replica: Replica::new(database.collection("tickets")),
        }
    }

    /// The collection itself, for the reservation transactions.
    pub(crate) fn collection(&self) -> &Collection<TicketDocument> {
        self.replica.collection()
    }

    /// The ticket with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<TicketDocument>> {
        self.collection().find_one(doc! { "_id": id }).await
    }

    /// The tickets with these ids, in no particular order.
    pub async fn find_many(&self, ids: &[ObjectId]) -> mongodb::error::Result<Vec<TicketDocument>> {
        self.collection()
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .try_collect()
            .await
    }

    /// Applies `ticket:created`: the replica starts at the event's version. A ticket already
    /// there (a redelivered event) is left as it is.
    pub async fn create_from_event(
        &self,
        id: ObjectId,
        event: &TicketCreated,
    ) -> mongodb::error::Result<Outcome> {
        self.replica
            .create(&TicketDocument::from_event(id, event))
            .await
    }

    /// Applies `ticket:updated` under the version rules: the next version sets title, price,
    /// seller and version; an already applied one is a duplicate (done); a later one, or one for a
    /// ticket not replicated yet, waits for the events before it (not yet).
    pub async fn update_from_event(
        &self,
        id: ObjectId,
        event: &TicketUpdated,
    ) -> mongodb::error::Result<Outcome> {
        let fields = doc! {
            "title": &event.title,
            "price": event.price,
            "userId": &event.user_id,
        };
        let applied = self.replica.apply(id, event.version, fields).await?;
        Ok(applied.outcome())
    }
}
