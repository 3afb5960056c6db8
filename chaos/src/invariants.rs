//! What must hold across the fleet's databases, the bus and Stripe once it is quiet.
//!
//! [`Snapshot::load`] reads every service's records, the consumers' backlogs, the parked stream
//! and the Stripe fake's books; [`Snapshot::violations`] is a pure function of that, so the
//! rules themselves are unit-tested on hand-made snapshots.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use futures::TryStreamExt as _;
use mongodb::bson::{Bson, Document, doc};
use stripe_fake::LedgerSnapshot;

use crate::fleet::Fleet;

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
    /// Reads the fleet's state.
    pub async fn load(fleet: &Fleet) -> anyhow::Result<Snapshot> {
        let now = chrono::Utc::now().timestamp_millis();
        let tickets_db = fleet.database("tickets").await?;
        let orders_db = fleet.database("orders").await?;
        let payments_db = fleet.database("payments").await?;

        let tickets = all(&tickets_db, "tickets")
            .await?
            .iter()
            .map(|doc| Ticket {
                id: id_of(doc),
                title: text(doc, "title"),
                price: number(doc, "price"),
                version: integer(doc, "version"),
                order_id: optional_id(doc, "orderId"),
            })
            .collect();
        let ticket_replicas = all(&orders_db, "tickets")
            .await?
            .iter()
            .map(|doc| TicketReplica {
                id: id_of(doc),
                title: text(doc, "title"),
                price: number(doc, "price"),
                version: integer(doc, "version"),
                reserved_by: optional_id(doc, "reservedBy"),
            })
            .collect();
        let orders = all(&orders_db, "orders")
            .await?
            .iter()
            .map(|doc| Order {
                id: id_of(doc),
                ticket: optional_id(doc, "ticket").unwrap_or_default(),
                status: text(doc, "status"),
                version: integer(doc, "version"),
                expires_at: doc
                    .get_datetime("expiresAt")
                    .map(|at| at.timestamp_millis())
                    .unwrap_or_default(),
            })
            .collect();
        let order_replicas = all(&payments_db, "orders")
            .await?
            .iter()
            .map(|doc| OrderReplica {
                id: id_of(doc),
                status: text(doc, "status"),
                version: integer(doc, "version"),
                price: number(doc, "price"),
            })
            .collect();
        let payments = all(&payments_db, "payments")
            .await?
            .iter()
            .map(|doc| Payment {
                order_id: optional_id(doc, "orderId").unwrap_or_default(),
                stripe_id: text(doc, "stripeId"),
                refunded: doc.contains_key("refundedAt"),
            })
            .collect();
        let pending_attempts = payments_db
            .collection::<Document>("charge_attempts")
            .find(doc! { "state": "pending" })
            .await?
            .try_collect::<Vec<_>>()
            .await?
            .iter()
            .map(id_of)
            .collect();
        let mut outbox = BTreeMap::new();
        for (name, database) in [
            ("tickets", &tickets_db),
            ("orders", &orders_db),
            ("payments", &payments_db),
        ] {
            let count = database
                .collection::<Document>("outbox")
                .count_documents(doc! {})
                .await?;
            outbox.insert(name.to_owned(), count);
        }
        let (consumers, parked) = bus_state(fleet.nats_operator().await?).await?;
        Ok(Snapshot {
            tickets,
            ticket_replicas,
            orders,
            order_replicas,
            payments,
            pending_attempts,
            outbox,
            consumers,
            parked,
            ledger: fleet.stripe().snapshot(),
            now,
        })
    }

    /// Whether the fleet has settled: nothing left to publish, deliver or charge, and every
    /// unpaid order past its expiry cancelled.
    pub fn is_quiet(&self) -> bool {
        self.outbox.values().all(|count| *count == 0)
            && self.pending_attempts.is_empty()
            && self
                .consumers
                .iter()
                .all(|consumer| consumer.pending == 0 && consumer.unacked == 0)
            && !self.orders.iter().any(|order| {
                order.status == "created" && order.expires_at + EXPIRY_SLACK_MS < self.now
            })
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
        let mut found = Vec::new();
        let orders: BTreeMap<&str, &Order> = self
            .orders
            .iter()
            .map(|order| (order.id.as_str(), order))
            .collect();
        let tickets: BTreeMap<&str, &Ticket> = self
            .tickets
            .iter()
            .map(|ticket| (ticket.id.as_str(), ticket))
            .collect();
        let ticket_replicas: BTreeMap<&str, &TicketReplica> = self
            .ticket_replicas
            .iter()
            .map(|replica| (replica.id.as_str(), replica))
            .collect();
        let order_replicas: BTreeMap<&str, &OrderReplica> = self
            .order_replicas
            .iter()
            .map(|replica| (replica.id.as_str(), replica))
            .collect();
        let reserving = |order: &Order| order.status != "cancelled";

        // Orders: legal status, expired ones cancelled, at most one reserving order per ticket.
        let mut reserving_by_ticket: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for order in &self.orders {
            if !STATUSES.contains(&order.status.as_str()) {
                found.push(format!("order {} has status {:?}", order.id, order.status));
            }
            if order.status == "created" && order.expires_at + EXPIRY_SLACK_MS < self.now {
                found.push(format!(
                    "order {} is still created {} ms after it expired",
                    order.id,
                    self.now - order.expires_at
                ));
            }
            if reserving(order) {
                reserving_by_ticket
                    .entry(order.ticket.as_str())
                    .or_default()
                    .push(order.id.as_str());
            }
        }
        for (ticket, holders) in &reserving_by_ticket {
            if holders.len() > 1 {
                found.push(format!("ticket {ticket} is held by orders {holders:?}"));
            }
        }

        // Tickets: orderId ⇔ exactly the one reserving order; the orders replica agrees.
        for ticket in &self.tickets {
            let holders = reserving_by_ticket
                .get(ticket.id.as_str())
                .cloned()
                .unwrap_or_default();
            match &ticket.order_id {
                Some(order_id) if holders != [order_id.as_str()] => {
                    let status = orders.get(order_id.as_str()).map(|order| &order.status);
                    found.push(format!(
                        "ticket {} has orderId {order_id} (status {status:?}) but its reserving orders are {holders:?}",
                        ticket.id
                    ));
                }
                Some(_) => {}
                None if !holders.is_empty() => found.push(format!(
                    "ticket {} has no orderId but is held by {holders:?}",
                    ticket.id
                )),
                None => {}
            }
            match ticket_replicas.get(ticket.id.as_str()) {
                None => found.push(format!("ticket {} is missing from orders", ticket.id)),
                Some(replica) => {
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
            }
        }
        for replica in &self.ticket_replicas {
            if !tickets.contains_key(replica.id.as_str()) {
                found.push(format!(
                    "orders has ticket {} that tickets lacks",
                    replica.id
                ));
            }
        }

        // The payments replica of each order: same status and version (a completion bumps the
        // owner's version without an event, so a complete order is one ahead).
        for order in &self.orders {
            match order_replicas.get(order.id.as_str()) {
                None => found.push(format!("order {} is missing from payments", order.id)),
                Some(replica) => {
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
        }

        // Money: every kept charge is exactly one unrefunded payment of a complete order, of
        // the right amount; every complete order has exactly one; refunds are single and whole.
        let payments_by_charge: BTreeMap<&str, &Payment> = self
            .payments
            .iter()
            .map(|payment| (payment.stripe_id.as_str(), payment))
            .collect();
        let mut kept_by_order: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for charge in &self.ledger.charges {
            let refunds = self.ledger.refunds_of(&charge.id);
            if refunds.len() > 1 {
                found.push(format!(
                    "charge {} was refunded {} times",
                    charge.id,
                    refunds.len()
                ));
            }
            if !charge.paid {
                continue;
            }
            if charge.refunded() {
                if payments_by_charge
                    .get(charge.id.as_str())
                    .is_some_and(|payment| !payment.refunded)
                {
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
                continue;
            }
            let Some(payment) = payments_by_charge.get(charge.id.as_str()) else {
                found.push(format!(
                    "charge {} (key {:?}) was kept but no payment records it",
                    charge.id, charge.idempotency_key
                ));
                continue;
            };
            if payment.refunded {
                found.push(format!(
                    "payment of charge {} says refunded but Stripe kept it",
                    charge.id
                ));
            }
            kept_by_order
                .entry(payment.order_id.as_str())
                .or_default()
                .push(charge.id.as_str());
            match orders.get(payment.order_id.as_str()) {
                Some(order) if order.status == "complete" => {}
                other => found.push(format!(
                    "charge {} was kept for order {} whose status is {:?}",
                    charge.id,
                    payment.order_id,
                    other.map(|order| &order.status)
                )),
            }
            if let Some(replica) = order_replicas.get(payment.order_id.as_str()) {
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
        for order in self
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

        // Nothing left behind.
        for (database, count) in &self.outbox {
            if *count > 0 {
                found.push(format!("{database}'s outbox still holds {count} events"));
            }
        }
        if !self.pending_attempts.is_empty() {
            found.push(format!(
                "charge attempts still pending: {:?}",
                self.pending_attempts
            ));
        }
        for consumer in &self.consumers {
            if consumer.pending > 0 || consumer.unacked > 0 {
                found.push(format!(
                    "consumer {} has {} pending and {} unacknowledged messages",
                    consumer.name, consumer.pending, consumer.unacked
                ));
            }
        }
        if self.parked > 0 {
            found.push(format!("{} messages were parked", self.parked));
        }
        found
    }
}

/// Waits until the fleet is quiet (at most `timeout`), then returns its snapshot.
pub async fn settle(fleet: &Fleet, timeout: Duration) -> anyhow::Result<Snapshot> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let snapshot = Snapshot::load(fleet).await?;
        // Quiet and consistent; or, past the deadline, whatever it is, to be reported.
        if (snapshot.is_quiet() && snapshot.violations().is_empty())
            || tokio::time::Instant::now() > deadline
        {
            return Ok(snapshot);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The backlog of every consumer of the events stream, and the number of parked messages.
async fn bus_state(client: async_nats::Client) -> anyhow::Result<(Vec<Consumer>, u64)> {
    let jetstream = async_nats::jetstream::new(client);
    let namespace = common::bus::Namespace::none();
    let stream = jetstream
        .get_stream(namespace.stream())
        .await
        .context("opening the events stream")?;
    let mut consumers = Vec::new();
    let mut names = stream.consumer_names();
    while let Some(name) = names.try_next().await? {
        let info = stream
            .consumer_info(&name)
            .await
            .with_context(|| format!("reading consumer {name}"))?;
        consumers.push(Consumer {
            name,
            pending: info.num_pending,
            unacked: info.num_ack_pending,
        });
    }
    let parked = match jetstream.get_stream(namespace.parked_stream()).await {
        Ok(mut parked) => parked.info().await?.state.messages,
        Err(_) => 0,
    };
    Ok((consumers, parked))
}

async fn all(database: &mongodb::Database, collection: &str) -> anyhow::Result<Vec<Document>> {
    Ok(database
        .collection::<Document>(collection)
        .find(doc! {})
        .await?
        .try_collect()
        .await?)
}

fn id_of(doc: &Document) -> String {
    optional_id(doc, "_id").unwrap_or_default()
}

/// An id stored as an ObjectId or as its hex string.
fn optional_id(doc: &Document, field: &str) -> Option<String> {
    match doc.get(field)? {
        Bson::ObjectId(id) => Some(id.to_hex()),
        Bson::String(id) => Some(id.clone()),
        Bson::Null => None,
        other => Some(other.to_string()),
    }
}

fn text(doc: &Document, field: &str) -> String {
    doc.get_str(field).unwrap_or_default().to_owned()
}

fn number(doc: &Document, field: &str) -> f64 {
    match doc.get(field) {
        Some(Bson::Double(value)) => *value,
        Some(Bson::Int32(value)) => f64::from(*value),
        #[allow(clippy::cast_precision_loss)]
        Some(Bson::Int64(value)) => *value as f64,
        _ => f64::NAN,
    }
}

fn integer(doc: &Document, field: &str) -> i64 {
    match doc.get(field) {
        Some(Bson::Int32(value)) => i64::from(*value),
        Some(Bson::Int64(value)) => *value,
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe_fake::{ChargeEntry, RefundEntry};

    fn ticket(id: &str, order: Option<&str>) -> Ticket {
        Ticket {
            id: id.to_owned(),
            title: "t".to_owned(),
            price: 10.0,
            version: 1,
            order_id: order.map(str::to_owned),
        }
    }

    fn replica_of(ticket: &Ticket) -> TicketReplica {
        TicketReplica {
            id: ticket.id.clone(),
            title: ticket.title.clone(),
            price: ticket.price,
            version: ticket.version,
            reserved_by: ticket.order_id.clone(),
        }
    }

    fn order(id: &str, ticket: &str, status: &str) -> Order {
        Order {
            id: id.to_owned(),
            ticket: ticket.to_owned(),
            status: status.to_owned(),
            version: if status == "created" { 0 } else { 1 },
            expires_at: 1_000_000,
        }
    }

    fn order_replica_of(order: &Order) -> OrderReplica {
        let (status, version) = match order.status.as_str() {
            "complete" => ("created", order.version - 1),
            other => (other, order.version),
        };
        OrderReplica {
            id: order.id.clone(),
            status: status.to_owned(),
            version,
            price: 10.0,
        }
    }

    fn charge(id: &str, refunded: bool) -> ChargeEntry {
        ChargeEntry {
            id: id.to_owned(),
            amount: 1000,
            currency: "usd".to_owned(),
            source: "tok_visa".to_owned(),
            paid: true,
            amount_refunded: if refunded { 1000 } else { 0 },
            created: 0,
            failure_code: None,
            failure_message: None,
            idempotency_key: None,
        }
    }

    /// A consistent snapshot: t1 sold (o1 complete, paid with ch_1), t2 free (o2 cancelled
    /// after a payment that was refunded), t3 held by o3 (created, not expired).
    fn consistent() -> Snapshot {
        let tickets = vec![
            ticket("t1", Some("o1")),
            ticket("t2", None),
            ticket("t3", Some("o3")),
        ];
        let orders = vec![
            order("o1", "t1", "complete"),
            order("o2", "t2", "cancelled"),
            order("o3", "t3", "created"),
        ];
        Snapshot {
            ticket_replicas: tickets.iter().map(replica_of).collect(),
            order_replicas: orders.iter().map(order_replica_of).collect(),
            tickets,
            orders,
            payments: vec![
                Payment {
                    order_id: "o1".to_owned(),
                    stripe_id: "ch_1".to_owned(),
                    refunded: false,
                },
                Payment {
                    order_id: "o2".to_owned(),
                    stripe_id: "ch_2".to_owned(),
                    refunded: true,
                },
            ],
            ledger: LedgerSnapshot {
                charges: vec![charge("ch_1", false), charge("ch_2", true)],
                refunds: vec![RefundEntry {
                    id: "re_2".to_owned(),
                    charge: "ch_2".to_owned(),
                    amount: 1000,
                    currency: "usd".to_owned(),
                    created: 0,
                    idempotency_key: None,
                }],
            },
            outbox: [("tickets".to_owned(), 0)].into_iter().collect(),
            now: 999_000,
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_consistent_fleet_has_no_violation() {
        let snapshot = consistent();
        assert_eq!(snapshot.violations(), Vec::<String>::new());
        assert!(snapshot.is_quiet());
    }

    fn violations_after(change: impl FnOnce(&mut Snapshot)) -> Vec<String> {
        let mut snapshot = consistent();
        change(&mut snapshot);
        snapshot.violations()
    }

    #[test]
    fn each_broken_rule_is_reported() {
        type Change = Box<dyn FnOnce(&mut Snapshot)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "ticket t2 has orderId",
                Box::new(|s| s.tickets[1].order_id = Some("o2".into())),
            ),
            (
                "ticket t3 has no orderId",
                Box::new(|s| s.tickets[2].order_id = None),
            ),
            (
                "is held by orders",
                Box::new(|s| s.orders.push(order("o4", "t3", "created"))),
            ),
            (
                "has status",
                Box::new(|s| s.orders[1].status = "lost".into()),
            ),
            ("still created", Box::new(|s| s.now = 2_000_000)),
            (
                "orders has v",
                Box::new(|s| s.ticket_replicas[0].version = 0),
            ),
            (
                "reservedBy",
                Box::new(|s| s.ticket_replicas[1].reserved_by = Some("o2".into())),
            ),
            (
                "missing from orders",
                Box::new(|s| {
                    s.ticket_replicas.remove(0);
                }),
            ),
            (
                "payments has",
                Box::new(|s| s.order_replicas[1].status = "created".into()),
            ),
            (
                "kept but no payment",
                Box::new(|s| s.ledger.charges.push(charge("ch_9", false))),
            ),
            (
                "has 0 kept charges",
                Box::new(|s| s.ledger.charges[0].amount_refunded = 1000),
            ),
            (
                "not marked refunded",
                Box::new(|s| s.payments[1].refunded = false),
            ),
            (
                "whose status",
                Box::new(|s| {
                    s.payments[1].refunded = false;
                    s.ledger.charges[1].amount_refunded = 0;
                    s.ledger.refunds.clear();
                }),
            ),
            (
                "refunded 2 times",
                Box::new(|s| {
                    let r = s.ledger.refunds[0].clone();
                    s.ledger.refunds.push(r);
                }),
            ),
            (
                "cents for an order",
                Box::new(|s| s.ledger.charges[0].amount = 999),
            ),
            (
                "outbox still holds",
                Box::new(|s| {
                    s.outbox.insert("orders".into(), 2);
                }),
            ),
            (
                "unacknowledged",
                Box::new(|s| {
                    s.consumers.push(Consumer {
                        name: "c".into(),
                        pending: 0,
                        unacked: 1,
                    })
                }),
            ),
            ("parked", Box::new(|s| s.parked = 1)),
            (
                "still pending",
                Box::new(|s| s.pending_attempts.push("k".into())),
            ),
        ];
        for (expected, change) in cases {
            let found = violations_after(change);
            assert!(
                found.iter().any(|violation| violation.contains(expected)),
                "expected a violation containing {expected:?}, got {found:?}"
            );
        }
    }

    #[test]
    fn a_double_charge_is_reported() {
        let found = violations_after(|s| {
            s.ledger.charges.push(charge("ch_3", false));
            s.payments.push(Payment {
                order_id: "o1".into(),
                stripe_id: "ch_3".into(),
                refunded: false,
            });
        });
        assert!(
            found.iter().any(|v| v.contains("charged 2 times")),
            "{found:?}"
        );
    }

    #[test]
    fn backlogs_and_unexpired_orders_are_not_quiet() {
        let mut snapshot = consistent();
        snapshot.consumers.push(Consumer {
            name: "c".into(),
            pending: 3,
            unacked: 0,
        });
        assert!(!snapshot.is_quiet());
        let mut snapshot = consistent();
        snapshot.now = 2_000_000;
        assert!(!snapshot.is_quiet());
    }
}
