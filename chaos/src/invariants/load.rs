//! Reading a [`Snapshot`] from the fleet: its databases, the bus and the Stripe fake.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures::TryStreamExt as _;
use mongodb::bson::{Bson, Document, doc};

use super::{Consumer, Order, OrderReplica, Payment, Snapshot, Ticket, TicketReplica};
use crate::fleet::Fleet;

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
            let count = common::outbox::pending_anywhere(database).await?;
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
