//! The invariants, one function per family. Each adds what it finds broken, in words, to
//! `found`.

use std::collections::BTreeMap;

use stripe_fake::ChargeEntry;

use super::{Order, OrderReplica, Payment, STATUSES, Snapshot, Ticket, TicketReplica};

/// A snapshot's records by id, and which orders hold each ticket.
pub(super) struct Index<'s> {
    orders: BTreeMap<&'s str, &'s Order>,
    tickets: BTreeMap<&'s str, &'s Ticket>,
    ticket_replicas: BTreeMap<&'s str, &'s TicketReplica>,
    order_replicas: BTreeMap<&'s str, &'s OrderReplica>,
    /// Per ticket, the orders that are not cancelled: they hold it (or sold it).
    reserving_by_ticket: BTreeMap<&'s str, Vec<&'s str>>,
}

impl<'s> Index<'s> {
    pub(super) fn of(snapshot: &'s Snapshot) -> Index<'s> {
        let mut reserving_by_ticket: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for order in snapshot.orders.iter().filter(|order| reserves(order)) {
            reserving_by_ticket
                .entry(order.ticket.as_str())
                .or_default()
                .push(order.id.as_str());
        }
        Index {
            orders: by_id(&snapshot.orders, |order| &order.id),
            tickets: by_id(&snapshot.tickets, |ticket| &ticket.id),
            ticket_replicas: by_id(&snapshot.ticket_replicas, |replica| &replica.id),
            order_replicas: by_id(&snapshot.order_replicas, |replica| &replica.id),
            reserving_by_ticket,
        }
    }

    /// The orders holding `ticket`.
    fn holders(&self, ticket: &str) -> &[&'s str] {
        self.reserving_by_ticket
            .get(ticket)
            .map_or(&[], Vec::as_slice)
    }
}

/// `records` by the id `id` reads from each.
fn by_id<'s, T>(records: &'s [T], id: impl Fn(&'s T) -> &'s String) -> BTreeMap<&'s str, &'s T> {
    records
        .iter()
        .map(|record| (id(record).as_str(), record))
        .collect()
}

/// Whether `order` holds its ticket: every status but cancelled.
fn reserves(order: &Order) -> bool {
    order.status != "cancelled"
}

/// Orders: a legal status, cancelled once expired unpaid, at most one holding each ticket.
pub(super) fn orders(snapshot: &Snapshot, index: &Index<'_>, found: &mut Vec<String>) {
    for order in &snapshot.orders {
        if !STATUSES.contains(&order.status.as_str()) {
            found.push(format!("order {} has status {:?}", order.id, order.status));
        }
        if snapshot.is_overdue(order) {
            found.push(format!(
                "order {} is still created {} ms after it expired",
                order.id,
                snapshot.now - order.expires_at
            ));
        }
    }
    for (ticket, holders) in &index.reserving_by_ticket {
        if holders.len() > 1 {
            found.push(format!("ticket {ticket} is held by orders {holders:?}"));
        }
    }
}

/// Tickets: `orderId` names exactly the one order holding the ticket, and the orders service's
/// replica has the same ticket, held by the same order; it has no ticket the owner lacks.
pub(super) fn tickets(snapshot: &Snapshot, index: &Index<'_>, found: &mut Vec<String>) {
    for ticket in &snapshot.tickets {
        let holders = index.holders(&ticket.id);
        match &ticket.order_id {
            Some(order_id) if holders != [order_id.as_str()] => {
                let status = index
                    .orders
                    .get(order_id.as_str())
                    .map(|order| &order.status);
                found.push(format!(
                    "ticket {} has orderId {order_id} (status {status:?}) but its reserving orders are {holders:?}",
                    ticket.id
                ));
            }
            None if !holders.is_empty() => found.push(format!(
                "ticket {} has no orderId but is held by {holders:?}",
                ticket.id
            )),
            Some(_) | None => {}
        }
        match index.ticket_replicas.get(ticket.id.as_str()) {
            None => found.push(format!("ticket {} is missing from orders", ticket.id)),
            Some(replica) => ticket_replica(ticket, replica, holders, found),
        }
    }
    for replica in &snapshot.ticket_replicas {
        if !index.tickets.contains_key(replica.id.as_str()) {
            found.push(format!(
                "orders has ticket {} that tickets lacks",
                replica.id
            ));
        }
    }
}

/// The orders service's replica of `ticket`: its version, title and price, and `reservedBy`
/// naming the order holding it.
fn ticket_replica(
    ticket: &Ticket,
    replica: &TicketReplica,
    holders: &[&str],
    found: &mut Vec<String>,
) {
    if (replica.version, &replica.title, replica.price)
        != (ticket.version, &ticket.title, ticket.price)
    {
        found.push(format!(
            "ticket {}: orders has v{} {:?} {} but tickets has v{} {:?} {}",
            ticket.id,
            replica.version,
            replica.title,
            replica.price,
            ticket.version,
            ticket.title,
            ticket.price
        ));
    }
    let claimed = replica.reserved_by.as_deref();
    if claimed != holders.first().copied() {
        found.push(format!(
            "ticket {}: orders' reservedBy is {claimed:?} but its reserving orders are {holders:?}",
            ticket.id
        ));
    }
}

/// The payments service's replica of each order: the same status and version. A completion
/// bumps the owner's version without an event, so a complete order is one ahead of a replica
/// that still says `created`.
pub(super) fn order_replicas(snapshot: &Snapshot, index: &Index<'_>, found: &mut Vec<String>) {
    for order in &snapshot.orders {
        let Some(replica) = index.order_replicas.get(order.id.as_str()) else {
            found.push(format!("order {} is missing from payments", order.id));
            continue;
        };
        let (status, version) = match order.status.as_str() {
            "complete" => ("created", order.version - 1),
            other => (other, order.version),
        };
        if (replica.status.as_str(), replica.version) != (status, version) {
            found.push(format!(
                "order {}: payments has {} v{} but orders has {} v{}",
                order.id, replica.status, replica.version, order.status, order.version
            ));
        }
    }
}

/// Money: every charge Stripe kept (by token, or paying an intent) is exactly one unrefunded
/// payment of a complete order, of the right amount; every complete order has exactly one; refunds are single and whole.
pub(super) fn money(snapshot: &Snapshot, index: &Index<'_>, found: &mut Vec<String>) {
    let payments_by_charge = by_id(&snapshot.payments, |payment| &payment.stripe_id);
    let mut kept_by_order: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for charge in &snapshot.ledger.charges {
        let refunds = snapshot.ledger.refunds_of(&charge.id).len();
        if refunds > 1 {
            found.push(format!("charge {} was refunded {refunds} times", charge.id));
        }
        if !charge.paid {
            continue;
        }
        // A payment names its charge, or the intent the charge paid.
        let payment = payments_by_charge
            .get(charge.id.as_str())
            .or_else(|| {
                let intent = charge.payment_intent.as_deref()?;
                payments_by_charge.get(intent)
            })
            .copied();
        if charge.refunded() {
            refunded_charge(charge, payment, found);
        } else if let Some(payment) = payment {
            kept_charge(charge, payment, index, found);
            kept_by_order
                .entry(payment.order_id.as_str())
                .or_default()
                .push(charge.id.as_str());
        } else {
            found.push(format!(
                "charge {} (key {:?}) was kept but no payment records it",
                charge.id, charge.idempotency_key
            ));
        }
    }
    for order in snapshot
        .orders
        .iter()
        .filter(|order| order.status == "complete")
    {
        let kept = kept_by_order.get(order.id.as_str()).map_or(0, Vec::len);
        if kept != 1 {
            found.push(format!(
                "complete order {} has {kept} kept charges",
                order.id
            ));
        }
    }
    for (order, charges) in &kept_by_order {
        if charges.len() > 1 {
            found.push(format!(
                "order {order} was charged {} times: {charges:?}",
                charges.len()
            ));
        }
    }
}

/// A charge Stripe refunded: refunded whole, and its payment, if any, says so.
fn refunded_charge(charge: &ChargeEntry, payment: Option<&Payment>, found: &mut Vec<String>) {
    if payment.is_some_and(|payment| !payment.refunded) {
        found.push(format!(
            "the payment of charge {} is not marked refunded but Stripe refunded it",
            charge.id
        ));
    }
    if charge.amount_refunded != charge.amount {
        found.push(format!(
            "charge {} was refunded {} of {}",
            charge.id, charge.amount_refunded, charge.amount
        ));
    }
}

/// A charge Stripe kept, and the payment recording it: not marked refunded, for a complete
/// order, of the order's price.
fn kept_charge(
    charge: &ChargeEntry,
    payment: &Payment,
    index: &Index<'_>,
    found: &mut Vec<String>,
) {
    if payment.refunded {
        found.push(format!(
            "payment of charge {} says refunded but Stripe kept it",
            charge.id
        ));
    }
    match index.orders.get(payment.order_id.as_str()) {
        Some(order) if order.status == "complete" => {}
        other => found.push(format!(
            "charge {} was kept for order {} whose status is {:?}",
            charge.id,
            payment.order_id,
            other.map(|order| &order.status)
        )),
    }
    if let Some(replica) = index.order_replicas.get(payment.order_id.as_str()) {
        let cents = (replica.price * 100.0).round();
        #[allow(clippy::cast_precision_loss)]
        let amount = charge.amount as f64;
        if (amount - cents).abs() > 0.5 {
            found.push(format!(
                "charge {} is {} cents for an order of {}",
                charge.id, charge.amount, replica.price
            ));
        }
    }
}

/// Nothing left behind: outboxes drained, no charge attempt pending, no consumer backlog,
/// nothing parked.
pub(super) fn nothing_left_behind(snapshot: &Snapshot, found: &mut Vec<String>) {
    for (database, count) in &snapshot.outbox {
        if *count > 0 {
            found.push(format!("{database}'s outbox still holds {count} events"));
        }
    }
    if !snapshot.pending_attempts.is_empty() {
        found.push(format!(
            "charge attempts still pending: {:?}",
            snapshot.pending_attempts
        ));
    }
    for consumer in &snapshot.consumers {
        if consumer.pending > 0 || consumer.unacked > 0 {
            found.push(format!(
                "consumer {} has {} pending and {} unacknowledged messages",
                consumer.name, consumer.pending, consumer.unacked
            ));
        }
    }
    if snapshot.parked > 0 {
        found.push(format!("{} messages were parked", snapshot.parked));
    }
}
