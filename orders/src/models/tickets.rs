//! The `tickets` collection: the replica, kept in step with the tickets service's events.
//!
//! Creation copies the event's version; an update applies only when it is the next version
//! (CONTRACT A.2 #12), through a write conditional on the replica's version, and never touches
//! `reservedBy`, which is this service's own.

use common::bus::listener::Outcome;
use common::events::{TicketCreated, TicketUpdated};
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::{Collection, Database};

use crate::models::ticket::TicketDocument;

/// The ticket replica. Cheap to clone.
#[derive(Clone)]
pub struct Tickets {
    collection: Collection<TicketDocument>,
}

impl Tickets {
    /// The `tickets` collection of `database`.
    pub fn new(database: &Database) -> Tickets {
        Tickets {
            collection: database.collection("tickets"),
        }
    }

    /// The collection itself, for the reservation transactions.
    pub(crate) fn collection(&self) -> &Collection<TicketDocument> {
        &self.collection
    }

    /// The ticket with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<TicketDocument>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// The tickets with these ids, in no particular order.
    pub async fn find_many(&self, ids: &[ObjectId]) -> mongodb::error::Result<Vec<TicketDocument>> {
        self.collection
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
        match self
            .collection
            .insert_one(TicketDocument::from_event(id, event))
            .await
        {
            Ok(_) => Ok(Outcome::Done),
            Err(error) if common::mongo::is_duplicate_key(&error) => Ok(Outcome::Done),
            Err(error) => Err(error),
        }
    }

    /// Applies `ticket:updated` under the version rules: the next version sets title, price,
    /// seller and version; an already applied one is a duplicate (done); a later one, or one for a
    /// ticket not replicated yet, waits for the events before it (not yet).
    pub async fn update_from_event(
        &self,
        id: ObjectId,
        event: &TicketUpdated,
    ) -> mongodb::error::Result<Outcome> {
        loop {
            let Some(replica) = self.find(id).await? else {
                return Ok(Outcome::NotYet);
            };
            if let Some(outcome) = Outcome::for_versions(replica.version, event.version) {
                return Ok(outcome);
            }
            let updated = self
                .collection
                .update_one(
                    doc! { "_id": id, "version": replica.version },
                    doc! { "$set": {
                        "title": &event.title,
                        "price": event.price,
                        "version": event.version,
                        "userId": &event.user_id,
                    } },
                )
                .await?;
            if updated.matched_count == 1 {
                return Ok(Outcome::Done);
            }
            // Another delivery of an event moved the replica on meanwhile: decide again.
        }
    }
}
