//! The `orders` collection: the replica, kept in step with the orders service's events.
//!
//! Creation copies the event's version; a cancellation applies only when it is the next
//! version (CONTRACT A.2 #12), through a write conditional on the replica's version. Neither
//! touches `payment`, which is this service's own (see [`crate::models::Payments::record`]).

use common::bus::listener::Outcome;
use common::events::{OrderCreated, OrderStatus};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{doc, to_bson};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};

use crate::models::order::OrderDocument;

/// What applying `order:cancelled` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancellation {
    /// The order is cancelled, by this event or by an earlier delivery of it: the replica.
    Cancelled(OrderDocument),
    /// The order, or an earlier version of it, has not been replicated yet.
    NotYet,
}

/// The order replica. Cheap to clone.
#[derive(Clone)]
pub struct Orders {
    collection: Collection<OrderDocument>,
}

impl Orders {
    /// The `orders` collection of `database`.
    pub fn new(database: &Database) -> Orders {
        Orders {
            collection: database.collection("orders"),
        }
    }

    /// The collection itself, for the payment transactions.
    pub(crate) fn collection(&self) -> &Collection<OrderDocument> {
        &self.collection
    }

    /// The order with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<OrderDocument>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// Applies `order:created`: the replica starts at the event's version. An order already
    /// there (a redelivered event) is left as it is.
    pub async fn create_from_event(
        &self,
        id: ObjectId,
        event: &OrderCreated,
    ) -> mongodb::error::Result<Outcome> {
        match self
            .collection
            .insert_one(OrderDocument::from_event(id, event))
            .await
        {
            Ok(_) => Ok(Outcome::Done),
            Err(error) if common::mongo::is_duplicate_key(&error) => Ok(Outcome::Done),
            Err(error) => Err(error),
        }
    }

    /// Applies `order:cancelled` at `version` under the version rules: the next version
    /// cancels the order; an already applied one is a duplicate; a later one, or one for an
    /// order not replicated yet, waits for the events before it.
    pub async fn cancel_from_event(
        &self,
        id: ObjectId,
        version: i64,
    ) -> mongodb::error::Result<Cancellation> {
        let cancelled = to_bson(&OrderStatus::Cancelled)
            .map_err(|error| mongodb::error::Error::custom(format!("order status: {error}")))?;
        loop {
            let applied = self
                .collection
                .find_one_and_update(
                    doc! { "_id": id, "version": version - 1 },
                    doc! { "$set": { "status": cancelled.clone(), "version": version } },
                )
                .return_document(ReturnDocument::After)
                .await?;
            if let Some(order) = applied {
                return Ok(Cancellation::Cancelled(order));
            }
            let Some(replica) = self.find(id).await? else {
                return Ok(Cancellation::NotYet);
            };
            match Outcome::for_versions(replica.version, version) {
                Some(Outcome::Done) => return Ok(Cancellation::Cancelled(replica)),
                Some(Outcome::NotYet) => return Ok(Cancellation::NotYet),
                // Another delivery moved the replica on between the two reads: decide again.
                None => {}
            }
        }
    }
}
