//! The three ways a ticket changes after its creation: its owner edits it, an order reserves
//! it, and that order's cancellation releases it.
//!
//! Cancellations are noted on the ticket so that a creation of a cancelled order, arriving
//! late or again, cannot reserve it; only the last [`CANCELLATIONS_KEPT`] are kept, as only
//! recent orders can still send one. The orders service lets one order at a time hold a
//! ticket, so each cancellation noted after order X's is one more order-and-cancel cycle of
//! the same ticket, while an event of X is on its way only until it is acknowledged or parked
//! (`max_deliver` deliveries, about 45 minutes, plus any backlog while this service is down).
//! Forgetting X too early takes more than [`CANCELLATIONS_KEPT`] cycles of one ticket within
//! that time; a creation of X arriving after them would reserve the ticket again.
//!
//! [`CANCELLATIONS_KEPT`]: crate::models::ticket::CANCELLATIONS_KEPT

use std::convert::Infallible;

use mongodb::bson::oid::ObjectId;

use crate::models::ticket::TicketDocument;
use crate::models::tickets::{ChangeError, Changed, Decision, Tickets};

/// Why an edit was refused, in the order it is checked (docs/decisions.md #6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditRefusal {
    /// The user is not the ticket's owner.
    NotOwner,
    /// An order holds the ticket.
    Reserved,
}

/// The ticket is held by this other order (its id), whose cancellation has not arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy(pub String);

impl Tickets {
    /// The owner sets a new title and price: refused for anyone else, then for a reserved
    /// ticket. Records `ticket:updated` (no `orderId`: the ticket is free).
    pub async fn edit(
        &self,
        id: ObjectId,
        user_id: &str,
        title: &str,
        price: f64,
    ) -> Result<TicketDocument, ChangeError<EditRefusal>> {
        let changed = self
            .change(id, |ticket| {
                if ticket.user_id != user_id {
                    return Err(EditRefusal::NotOwner);
                }
                if ticket.is_reserved() {
                    return Err(EditRefusal::Reserved);
                }
                title.clone_into(&mut ticket.title);
                ticket.price = price;
                Ok(Decision::Save)
            })
            .await?;
        Ok(changed.into_ticket())
    }

    /// `order_id` holds the ticket; records `ticket:updated` with that `orderId`. Already held
    /// by that order (a redelivered event), or the order is known to be cancelled (its
    /// cancellation overtook it): nothing to do.
    ///
    /// Another order holding the ticket is refused with [`HeldBy`], not replaced: the orders
    /// service allows one active order per ticket, so one of the two was cancelled, but which
    /// one only its cancellation tells — a creation redelivered late (its first replica died)
    /// can be the older, cancelled order. The caller waits for that cancellation: it either
    /// frees the ticket for this order or notes this order as cancelled.
    pub async fn reserve(
        &self,
        id: ObjectId,
        order_id: &str,
    ) -> Result<Changed, ChangeError<HeldBy>> {
        self.change(id, |ticket| {
            if ticket.order_id.as_deref() == Some(order_id) || ticket.knows_cancelled(order_id) {
                return Ok(Decision::Keep);
            }
            if let Some(holder) = &ticket.order_id {
                return Err(HeldBy(holder.clone()));
            }
            ticket.order_id = Some(order_id.to_owned());
            Ok(Decision::Save)
        })
        .await
    }

    /// The cancelled `order_id` lets the ticket go; records `ticket:updated` without `orderId`.
    /// Only the order holding the ticket can release it (docs/decisions.md #9): a late cancellation
    /// of an earlier order, or a redelivered one, changes nothing visible. The cancellation is
    /// noted either way, so that the order's creation, arriving late or again, cannot reserve
    /// the ticket for it.
    pub async fn release(
        &self,
        id: ObjectId,
        order_id: &str,
    ) -> Result<Changed, ChangeError<Infallible>> {
        self.change(id, |ticket| {
            let newly_noted = ticket.note_cancelled(order_id);
            if ticket.order_id.as_deref() == Some(order_id) {
                ticket.order_id = None;
                return Ok(Decision::Save);
            }
            Ok(if newly_noted {
                Decision::Note
            } else {
                Decision::Keep
            })
        })
        .await
    }
}
