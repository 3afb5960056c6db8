//! What must hold across the fleet's databases, the bus and Stripe once it is quiet.
//!
//! [`Snapshot::load`] reads every service's records, the consumers' backlogs, the parked stream
//! and the Stripe fake's books; [`Snapshot::violations`] is a pure function of that, so the
//! rules themselves are unit-tested on hand-made snapshots.
//!
//! Layout:
//! - here: the snapshot's records, whether the fleet is quiet, and [`settle`];
//! - `load`: reading a snapshot from the fleet;
//! - `rules`: the rules, one function per family: orders, tickets and their replica, the
//!   payments replica of orders, money, and what must be left behind (nothing).

use std::collections::BTreeMap;
use std::time::Duration;

use stripe_fake::LedgerSnapshot;

use crate::fleet::Fleet;

mod load;
mod rules;
#[cfg(test)]
mod tests;

/// A ticket as the tickets service owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: String,
    pub title: String,
    pub price: f64,
    pub version: i64,
    pub order_id: Option<String>,
}

/// A ticket as the orders service replicates it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketReplica {
    pub id: String,
    pub title: String,
    pub price: f64,
    pub version: i64,
    pub reserved_by: Option<String>,
}

/// An order as the orders service owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub ticket: String,
    pub status: String,
    pub version: i64,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

/// An order as the payments service replicates it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderReplica {
    pub id: String,
    pub status: String,
    pub version: i64,
    pub price: f64,
}

/// A payment record.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub order_id: String,
    pub stripe_id: String,
    pub refunded: bool,
}

/// A durable consumer's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: String,
    pub pending: u64,
    pub unacked: usize,
}

/// Everything the invariants look at, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub tickets: Vec<Ticket>,
    pub ticket_replicas: Vec<TicketReplica>,
    pub orders: Vec<Order>,
    pub order_replicas: Vec<OrderReplica>,
    pub payments: Vec<Payment>,
    /// Charge attempts still pending, by key.
    pub pending_attempts: Vec<String>,
    /// Outbox records not yet published, per database.
    pub outbox: BTreeMap<String, u64>,
    pub consumers: Vec<Consumer>,
    /// Messages on the parked stream.
    pub parked: u64,
    pub ledger: LedgerSnapshot,
    /// Milliseconds since the epoch when read.
    pub now: i64,
}

/// The order statuses there are.
const STATUSES: [&str; 4] = ["created", "awaiting:payment", "cancelled", "complete"];

/// How late after `expiresAt` an unpaid order may still be `created` when the fleet is quiet.
const EXPIRY_SLACK_MS: i64 = 5_000;

impl Snapshot {
    /// Whether the fleet has settled: nothing left to publish, deliver or charge, and every
    /// unpaid order past its expiry cancelled.
    pub fn is_quiet(&self) -> bool {
        self.outbox.values().all(|count| *count == 0)
            && self.pending_attempts.is_empty()
            && self
                .consumers
                .iter()
                .all(|consumer| consumer.pending == 0 && consumer.unacked == 0)
            && !self.orders.iter().any(|order| self.is_overdue(order))
    }

    /// Whether `order` is unpaid and still `created` well past its expiry.
    fn is_overdue(&self, order: &Order) -> bool {
        order.status == "created" && order.expires_at + EXPIRY_SLACK_MS < self.now
    }

    /// The number of individual checks [`Snapshot::violations`] makes.
    pub fn checks(&self) -> usize {
        // Per ticket: owner ⇔ order, replica; per order: status, expiry, replica, money.
        3 * self.tickets.len()
            + 4 * self.orders.len()
            + self.ledger.charges.len()
            + self.outbox.len()
            + self.consumers.len()
            + 2
    }

    /// Every rule broken, in words.
    pub fn violations(&self) -> Vec<String> {
        let index = rules::Index::of(self);
        let mut found = Vec::new();
        rules::orders(self, &index, &mut found);
        rules::tickets(self, &index, &mut found);
        rules::order_replicas(self, &index, &mut found);
        rules::money(self, &index, &mut found);
        rules::nothing_left_behind(self, &mut found);
        found
    }

    /// Panics listing every rule broken (`when` says at which point of a test), and where
    /// `fleet`'s logs are.
    pub fn assert_holds(&self, fleet: &crate::Fleet, when: &str) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "{when}: {} violations (logs: {}):\n{}",
            violations.len(),
            fleet.log().display(),
            violations.join("\n")
        );
    }
}

/// Waits until the fleet is quiet (at most `timeout`), then returns its snapshot. A snapshot
/// that cannot be read yet (a NATS node just restarted still catching up, its stream info timing
/// out) is read again; past the deadline, its error is the answer.
pub async fn settle(fleet: &Fleet, timeout: Duration) -> anyhow::Result<Snapshot> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let past = tokio::time::Instant::now() > deadline;
        match Snapshot::load(fleet).await {
            // Quiet and consistent; or, past the deadline, whatever it is, to be reported.
            Ok(snapshot) if past || (snapshot.is_quiet() && snapshot.violations().is_empty()) => {
                return Ok(snapshot);
            }
            Err(error) if past => return Err(error),
            Ok(_) | Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
