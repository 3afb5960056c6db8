//! The `orders` collection: the replica, kept in step with the orders service's events
//! ([`common::replica`]). A cancellation sets the status, and never touches `payment`, which
//! is this service's own (see [`crate::models::Payments::record`]).

use common::bus::listener::Outcome;
use common::events::{OrderCreated, OrderStatus};
use common::replica::{Applied, Replica, Versioned};
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::{Collection, Database};

use crate::models::order::OrderDocument;

impl Versioned for OrderDocument {
    fn version(&self) -> i64 {
        self.version
    }
}

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
    replica: Replica<OrderDocument>,
}

impl Orders {
    /// The `orders` collection of `database`.
    pub fn new(database: &Database) -> Orders {
        Orders {
            replica: Replica::new(database.collection("orders")),
        }
    }

    /// The collection itself, for the payment transactions.
    pub(crate) fn collection(&self) -> &Collection<OrderDocument> {
        self.replica.collection()
    }

    /// The order with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<OrderDocument>> {
        self.collection().find_one(doc! { "_id": id }).await
    }

    /// Applies `order:created`: the replica starts at the event's version. An order already
    /// there (a redelivered event) is left as it is.
    pub async fn create_from_event(
        &self,
        id: ObjectId,
        event: &OrderCreated,
    ) -> mongodb::error::Result<Outcome> {
        self.replica
            .create(&OrderDocument::from_event(id, event))
            .await
    }

    /// Applies `order:cancelled` at `version` under the version rules: the next version
    /// cancels the order; an already applied one is a duplicate; a later one, or one for an
    /// order not replicated yet, waits for the events before it.
    pub async fn cancel_from_event(
        &self,
        id: ObjectId,
        version: i64,
    ) -> mongodb::error::Result<Cancellation> {
        let fields = doc! { "status": OrderStatus::Cancelled };
        Ok(match self.replica.apply(id, version, fields).await? {
            Applied::Current(order) => Cancellation::Cancelled(order),
            Applied::NotYet => Cancellation::NotYet,
        })
    }
}
