//! Creating and cancelling orders: the two changes that move a ticket's reservation.
//!
//! At most one active order holds a ticket (CONTRACT A.2 #1). The replica's `reservedBy` is
//! claimed with a write conditional on it being empty, in the same transaction as the order's
//! insert and its `order:created` outbox record: of N racing buyers, one transaction claims the
//! ticket; the others conflict with it, are retried by the driver, and then find it taken.
//! Cancelling releases the claim (only if this order holds it), in the same transaction as the
//! status change and its `order:cancelled` record. The expiry listener cancels through the
//! same [`Orders::cancel`] as `DELETE /api/orders/:id`.
//!
//! Transaction bodies own clones of what they use: the driver may run a body more than once,
//! and borrowing from the enclosing function trips the compiler's `Send` check.

use chrono::{DateTime, TimeDelta, Utc};
use common::events::OrderStatus;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::options::ReturnDocument;

use crate::models::order::{OrderDocument, OrderTicket};
use crate::models::orders::{Contended, MAX_ATTEMPTS, Orders, StatusChange, status_update};

/// Why an order could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateOrderError {
    /// The replica has no such ticket.
    #[error("ticket not found")]
    TicketNotFound,
    /// Another active order holds the ticket.
    #[error("ticket is already reserved")]
    AlreadyReserved,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
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
        if self.tickets.find(ticket_id).await?.is_none() {
            return Err(CreateOrderError::TicketNotFound);
        }
        let order = OrderDocument::new(user_id.to_owned(), ticket_id, self.expiry()?);
        let (orders, tickets) = (self.collection.clone(), self.tickets.collection().clone());
        let outbox = self.outbox.clone();
        let document = order.clone();
        let mut session = self.collection.client().start_session().await?;
        let claimed = session
            .start_transaction()
            .and_run2(async move |session| {
                let (orders, tickets, outbox) = (orders.clone(), tickets.clone(), outbox.clone());
                let order = document.clone();
                let Some(ticket) = tickets
                    .find_one_and_update(
                        doc! { "_id": order.ticket, "reservedBy": null },
                        doc! { "$set": { "reservedBy": order.id } },
                    )
                    .return_document(ReturnDocument::After)
                    .session(&mut *session)
                    .await?
                else {
                    // Nothing written: committing the empty transaction is harmless.
                    return Ok(None);
                };
                orders.insert_one(&order).session(&mut *session).await?;
                outbox
                    .add(session, &order.created_event(ticket.price))
                    .await?;
                Ok(Some(ticket))
            })
            .await?;
        let Some(ticket) = claimed else {
            return Err(CreateOrderError::AlreadyReserved);
        };
        self.outbox.wake();
        Ok(OrderTicket {
            order,
            ticket: Some(ticket),
        })
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
    /// ([`StatusChange::Unchanged`], no event) and a complete one is refused (CONTRACT A.2 #8,
    /// #9).
    pub async fn cancel(&self, id: ObjectId) -> mongodb::error::Result<StatusChange> {
        for _ in 0..MAX_ATTEMPTS {
            let (orders, tickets) = (self.collection.clone(), self.tickets.collection().clone());
            let outbox = self.outbox.clone();
            let mut session = self.collection.client().start_session().await?;
            let attempt = session
                .start_transaction()
                .and_run2(async move |session| {
                    let (orders, tickets, outbox) =
                        (orders.clone(), tickets.clone(), outbox.clone());
                    let Some(order) = orders
                        .find_one(doc! { "_id": id })
                        .session(&mut *session)
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
                    let updated = orders
                        .update_one(
                            doc! { "_id": id, "version": order.version },
                            status_update(&cancelled)?,
                        )
                        .session(&mut *session)
                        .await?;
                    if updated.matched_count == 0 {
                        return Ok(CancelAttempt::Stale);
                    }
                    tickets
                        .update_one(
                            doc! { "_id": order.ticket, "reservedBy": id },
                            doc! { "$unset": { "reservedBy": "" } },
                        )
                        .session(&mut *session)
                        .await?;
                    outbox.add(session, &cancelled.cancelled_event()).await?;
                    Ok(CancelAttempt::Decided(StatusChange::Changed(cancelled)))
                })
                .await?;
            match attempt {
                CancelAttempt::Stale => continue,
                CancelAttempt::Decided(change) => {
                    if matches!(change, StatusChange::Changed(_)) {
                        self.outbox.wake();
                    }
                    return Ok(change);
                }
            }
        }
        Err(mongodb::error::Error::custom(Contended))
    }
}
