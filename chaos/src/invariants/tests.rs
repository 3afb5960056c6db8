//! The rules on hand-made snapshots: a consistent one, then each rule broken in turn.

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
        payment_intent: None,
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
                payment_intent: None,
            }],
            intents: Vec::new(),
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
