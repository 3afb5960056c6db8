//! Creating and cancelling orders: the two changes that move a ticket's reservation.
//!
//! At most one active order holds a ticket (docs/decisions.md #1), a buyer holds at most
//! `MAX_UNPAID_ORDERS` unpaid orders at once, and nobody orders their own ticket. The replica's
//! `reservedBy` is claimed with a write conditional on it being empty, in the same transaction
//! as the order's insert, which carries its `order:created` outbox record
//! ([`common::outbox::FIELD`]): of N racing buyers, one transaction claims the ticket; the
//! others conflict with it, are retried by the driver, and then find it taken. Cancelling
//! releases the claim (only if this order holds it), in the same transaction as the status
//! change, which pushes its `order:cancelled` record into the order. The unpaid orders are
//! counted inside the create transaction after a write to the buyer's document in `buyers`, so
//! two orders of one buyer cannot both count the same total: they conflict on that write, and
//! the retried one counts the other's order. The expiry listener cancels through the same
//! [`Orders::cancel`] as `DELETE /api/orders/:id`.

use chrono::{DateTime, TimeDelta, Utc};
use common::contention::LostRaces;
use common::events::OrderStatus;
use common::outbox::{document_keeping, push_kept};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use crate::models::order::{OrderDocument, OrderTicket};
use crate::models::orders::{COLLECTION, Orders, StatusChange, status_update};

/// Why an order could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateOrderError {
    /// The replica has no such ticket.
    #[error("ticket not found")]
    TicketNotFound,
    /// The ticket is the buyer's own.
    #[error("the ticket is the buyer's own")]
    OwnTicket,
    /// The buyer already holds as many unpaid orders as allowed.
    #[error("too many unpaid orders")]
    TooManyUnpaid,
    /// Another active order holds the ticket.
    #[error("ticket is already reserved")]
    AlreadyReserved,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

/// What one run of the create transaction found.
enum Claim {
    /// The ticket, now held by the new order.
    Claimed(crate::models::ticket::TicketDocument),
    /// Another active order holds it.
    Reserved,
    /// The buyer holds the most unpaid orders allowed.
    TooManyUnpaid,
    /// The buyer has no document in `buyers` yet: nothing was written.
    NewBuyer,
}

/// What one run of the cancel transaction found.
enum CancelAttempt {
    /// Decided: the result to return.
    Decided(StatusChange),
    /// The order changed between the read and the write: read again.
    Stale,
}

impl Orders {
    /// Places an order by `user_id` for the ticket: status `created`, version 0, expiring after
    /// the configured window. Claims the ticket, stores the order and records `order:created`
    /// in one transaction.
    pub async fn create(
        &self,
        user_id: &str,
        ticket_id: ObjectId,
    ) -> Result<OrderTicket, CreateOrderError> {
        let ticket = self
            .tickets
            .find(ticket_id)
            .await?
            .ok_or(CreateOrderError::TicketNotFound)?;
        if ticket.user_id.as_deref() == Some(user_id) {
            return Err(CreateOrderError::OwnTicket);
        }
        let order = OrderDocument::new(user_id.to_owned(), ticket_id, self.expiry()?);
        // A buyer's first order makes their document and runs the transaction again.
        let mut ensured = false;
        let claimed = loop {
            let claimed = self.claim(&order).await?;
            match claimed {
                Claim::NewBuyer if !ensured => {
                    self.buyers.ensure(user_id).await?;
                    ensured = true;
                }
                claimed => break claimed,
            }
        };
        let ticket = match claimed {
            Claim::Claimed(ticket) => ticket,
            Claim::Reserved => return Err(CreateOrderError::AlreadyReserved),
            Claim::TooManyUnpaid => return Err(CreateOrderError::TooManyUnpaid),
            Claim::NewBuyer => {
                return Err(CreateOrderError::Database(mongodb::error::Error::custom(
                    format!("the buyer {user_id} has no document though one was just made"),
                )));
            }
        };
        Ok(OrderTicket {
            order,
            ticket: Some(ticket),
        })
    }

    /// One run of the create transaction for `order` (see [`Orders::create`]).
    async fn claim(&self, order: &OrderDocument) -> mongodb::error::Result<Claim> {
        let context = (
            self.collection.clone(),
            self.tickets.collection().clone(),
            self.buyers.clone(),
            order.clone(),
            self.max_unpaid,
        );
        self.outbox
            .transaction(
                context,
                async |transaction, (orders, tickets, buyers, order, max_unpaid)| {
                    // One such transaction per buyer at a time: two conflict on the buyer's
                    // document, and the one retried counts the other's order.
                    if !buyers.touch(transaction.session(), &order.user_id).await? {
                        return Ok(Claim::NewBuyer);
                    }
                    let unpaid = orders
                        .count_documents(doc! {
                            "userId": &order.user_id,
                            "status": OrderStatus::Created,
                            "expiresAt": { "$gt": mongodb::bson::DateTime::now() },
                        })
                        .session(transaction.session())
                        .await?;
                    if unpaid >= max_unpaid {
                        return Ok(Claim::TooManyUnpaid);
                    }
                    let Some(ticket) = tickets
                        .find_one_and_update(
                            doc! { "_id": order.ticket, "reservedBy": null },
                            doc! { "$set": { "reservedBy": order.id } },
                        )
                        .return_document(ReturnDocument::After)
                        .session(transaction.session())
                        .await?
                    else {
                        // Only the buyer's touch was written: committing it is harmless.
                        return Ok(Claim::Reserved);
                    };
                    let event = order.created_event(ticket.price);
                    let kept = transaction.keep(COLLECTION, order.id, &event)?;
                    orders
                        .clone_with_type::<Document>()
                        .insert_one(document_keeping(&order, &kept)?)
                        .session(transaction.session())
                        .await?;
                    Ok(Claim::Claimed(ticket))
                },
            )
            .await
    }

    /// When an order placed now expires: one window from now.
    fn expiry(&self) -> mongodb::error::Result<DateTime<Utc>> {
        TimeDelta::from_std(self.expiration_window)
            .ok()
            .and_then(|window| Utc::now().checked_add_signed(window))
            .ok_or_else(|| {
                mongodb::error::Error::custom("the expiration window is out of range".to_owned())
            })
    }

    /// Cancels the order: status `cancelled`, version + 1, its ticket released, and
    /// `order:cancelled` recorded, in one transaction. A cancelled order is left alone
    /// ([`StatusChange::Unchanged`], no event) and a complete one is refused (docs/decisions.md #8,
    /// #9).
    pub async fn cancel(&self, id: ObjectId) -> mongodb::error::Result<StatusChange> {
        let mut races = LostRaces::default();
        loop {
            let context = (
                self.collection.clone(),
                self.tickets.collection().clone(),
                id,
            );
            let attempt = self
                .outbox
                .transaction(context, async |transaction, (orders, tickets, id)| {
                    let Some(order) = orders
                        .find_one(doc! { "_id": id })
                        .session(transaction.session())
                        .await?
                    else {
                        return Ok(CancelAttempt::Decided(StatusChange::NotFound));
                    };
                    match order.status {
                        OrderStatus::Cancelled => {
                            return Ok(CancelAttempt::Decided(StatusChange::Unchanged(order)));
                        }
                        OrderStatus::Complete => {
                            return Ok(CancelAttempt::Decided(StatusChange::Refused(order)));
                        }
                        OrderStatus::Created | OrderStatus::AwaitingPayment => {}
                    }
                    let cancelled = OrderDocument {
                        status: OrderStatus::Cancelled,
                        version: order.version + 1,
                        ..order.clone()
                    };
                    let kept = transaction.keep(COLLECTION, id, &cancelled.cancelled_event())?;
                    let mut update = status_update(&cancelled);
                    push_kept(&mut update, &kept)?;
                    let updated = orders
                        .update_one(doc! { "_id": id, "version": order.version }, update)
                        .session(transaction.session())
                        .await?;
                    if updated.matched_count == 0 {
                        return Ok(CancelAttempt::Stale);
                    }
                    tickets
                        .update_one(
                            doc! { "_id": order.ticket, "reservedBy": id },
                            doc! { "$unset": { "reservedBy": "" } },
                        )
                        .session(transaction.session())
                        .await?;
                    Ok(CancelAttempt::Decided(StatusChange::Changed(cancelled)))
                })
                .await?;
            match attempt {
                CancelAttempt::Decided(change) => return Ok(change),
                CancelAttempt::Stale => races.lost()?,
            }
        }
    }
}
