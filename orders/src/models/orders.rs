//! The `orders` collection: reading orders with their tickets, and the status changes that
//! need no event (completion on payment).
//!
//! Versioning is the original's mongoose-update-if-current: every change
//! writes version + 1 only if the stored order still has the version it was read at. A change
//! that loses that race re-reads the order and decides again ([`LostRaces`]), so concurrent
//! changes (a payment and an expiry, say) serialize: the second one sees what the first did.
//! Creating and cancelling orders, which move a ticket's reservation and record an event, are
//! in [`crate::models::reservation`].

use std::collections::HashMap;
use std::time::Duration;

use common::contention::LostRaces;
use common::events::OrderStatus;
use common::mongo::index;
use common::outbox::Outbox;
use common::paging::{Listed, Page};
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};

use crate::models::buyers::Buyers;
use crate::models::order::{OrderDocument, OrderTicket};
use crate::models::tickets::Tickets;

/// What a status change (cancel, complete) did.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChange {
    /// No order has this id.
    NotFound,
    /// Changed now: the order as saved.
    Changed(OrderDocument),
    /// Already in the wanted status: nothing done.
    Unchanged(OrderDocument),
    /// Its status forbids the change (a complete order cannot be cancelled, a cancelled one
    /// cannot complete): nothing done.
    Refused(OrderDocument),
}

/// The rules every new order follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRules {
    /// `EXPIRATION_WINDOW_SECONDS`: how long a new order waits for payment.
    pub expiration_window: Duration,
    /// `MAX_UNPAID_ORDERS`: how many unpaid orders one buyer may hold at once.
    pub max_unpaid: u64,
}

/// The collection of orders, whose documents keep the events of their changes until published.
pub(crate) const COLLECTION: &str = "orders";

/// The orders collection, with the ticket replica and the outbox its changes involve.
/// Cheap to clone.
#[derive(Clone)]
pub struct Orders {
    pub(crate) collection: Collection<OrderDocument>,
    pub(crate) tickets: Tickets,
    pub(crate) outbox: Outbox,
    pub(crate) expiration_window: Duration,
    /// The buyers' documents, which serialise each buyer's order creations.
    pub(crate) buyers: Buyers,
    /// The most unpaid orders one buyer may hold (`MAX_UNPAID_ORDERS`).
    pub(crate) max_unpaid: u64,
}

impl Orders {
    /// The `orders` collection of `database`; new orders wait `rules.expiration_window` for
    /// payment, and a buyer holds at most `rules.max_unpaid` unpaid ones.
    pub fn new(database: &Database, tickets: Tickets, outbox: Outbox, rules: OrderRules) -> Orders {
        outbox.keep_events_in(COLLECTION);
        Orders {
            collection: database.collection(COLLECTION),
            tickets,
            outbox,
            expiration_window: rules.expiration_window,
            buyers: Buyers::new(database),
            max_unpaid: rules.max_unpaid,
        }
    }

    /// Creates the index listing a user's orders uses, and the one through which the relay
    /// finds the orders' pending events (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let by_user = index("user_orders", doc! { "userId": 1, "_id": 1 });
        self.collection.create_index(by_user).await?;
        self.outbox.ensure_indexes().await
    }

    /// The order with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<OrderDocument>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// The order with this id and its ticket.
    pub async fn find_with_ticket(
        &self,
        id: ObjectId,
    ) -> mongodb::error::Result<Option<OrderTicket>> {
        let Some(order) = self.find(id).await? else {
            return Ok(None);
        };
        let ticket = self.tickets.find(order.ticket).await?;
        Ok(Some(OrderTicket { order, ticket }))
    }

    /// A page of `user_id`'s orders, whatever their status, newest first, each with its ticket.
    pub async fn list_for_user(
        &self,
        user_id: &str,
        page: &Page,
    ) -> mongodb::error::Result<Listed<OrderTicket>> {
        let orders = page
            .read(&self.collection, doc! { "userId": user_id })
            .await?;
        let mut ticket_ids: Vec<ObjectId> = orders.items.iter().map(|order| order.ticket).collect();
        ticket_ids.sort_unstable();
        ticket_ids.dedup();
        let tickets: HashMap<ObjectId, _> = self
            .tickets
            .find_many(&ticket_ids)
            .await?
            .into_iter()
            .map(|ticket| (ticket.id, ticket))
            .collect();
        Ok(orders.map(|order| OrderTicket {
            ticket: tickets.get(&order.ticket).cloned(),
            order,
        }))
    }

    /// Marks the order paid (`payment:created`): version + 1, no event (as the original).
    /// Already complete is a duplicate; a cancelled order stays cancelled ([`StatusChange::Refused`]).
    /// The ticket stays reserved by the order: it is sold.
    ///
    /// One write, conditional on the order being unpaid: a cancellation racing it either
    /// comes first (the write matches nothing) or finds the version moved on and reads again.
    /// Only when the write matches nothing is the order read, to say why.
    pub async fn complete(&self, id: ObjectId) -> mongodb::error::Result<StatusChange> {
        let mut races = LostRaces::default();
        loop {
            let completed = self
                .collection
                .find_one_and_update(
                    doc! {
                        "_id": id,
                        "status": { "$in": [OrderStatus::Created, OrderStatus::AwaitingPayment] },
                    },
                    doc! {
                        "$set": { "status": OrderStatus::Complete },
                        "$inc": { "version": 1_i64 },
                    },
                )
                .return_document(ReturnDocument::After)
                .await?;
            if let Some(order) = completed {
                return Ok(StatusChange::Changed(order));
            }
            let Some(order) = self.find(id).await? else {
                return Ok(StatusChange::NotFound);
            };
            match order.status {
                OrderStatus::Complete => return Ok(StatusChange::Unchanged(order)),
                OrderStatus::Cancelled => return Ok(StatusChange::Refused(order)),
                // Unpaid though the write matched nothing: the order was stored between the
                // two (no status goes back to unpaid). Write again, within bounds.
                OrderStatus::Created | OrderStatus::AwaitingPayment => races.lost()?,
            }
        }
    }
}

/// The update writing `changed`'s status and version.
pub(crate) fn status_update(changed: &OrderDocument) -> mongodb::bson::Document {
    doc! { "$set": { "status": changed.status, "version": changed.version } }
}
