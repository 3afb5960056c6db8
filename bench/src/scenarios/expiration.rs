//! Expiration accuracy: how late after `expiresAt` an unpaid order is cancelled, over many
//! orders, on a stack whose orders expire after a short window.
//!
//! The bench listens to the bus itself (plain NATS subscriptions see every event the stream
//! stores) and notes when `expiration:complete` (the expiration service's verdict) and then
//! `order:cancelled` (orders has cancelled it) arrive for each order it placed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::api::Api;
use crate::scenarios::{bounded, create_tickets, progress};
use crate::stats::Summary;
use crate::target::Stack;

/// How long after the last expiry the bench waits for stragglers.
const GRACE: Duration = Duration::from_secs(30);

/// The expiration figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expiration {
    /// Orders placed.
    pub orders: usize,
    /// The expiration window of the stack, in seconds.
    pub window_seconds: u64,
    /// `expiresAt` → `expiration:complete` on the bus.
    pub expiration_complete: Option<Summary>,
    /// `expiresAt` → `order:cancelled` on the bus: the lateness of the cancellation.
    pub cancelled: Option<Summary>,
    /// Orders never cancelled within the grace period.
    pub missing: usize,
}

#[derive(Deserialize)]
struct ExpirationComplete {
    #[serde(rename = "orderId")]
    order_id: String,
}

#[derive(Deserialize)]
struct OrderCancelled {
    id: String,
}

/// When each event arrived, by order id.
type Arrivals = Arc<Mutex<HashMap<String, DateTime<Utc>>>>;

/// Places `count` orders and waits for each to be cancelled.
pub async fn run(stack: &Stack, count: usize) -> anyhow::Result<Expiration> {
    let nats = stack.nats_operator().await?;
    let completed: Arrivals = Arrivals::default();
    let cancelled: Arrivals = Arrivals::default();
    let mut completions = nats
        .subscribe("expiration:complete")
        .await
        .context("could not subscribe to expiration:complete")?;
    let mut cancellations = nats
        .subscribe("order:cancelled")
        .await
        .context("could not subscribe to order:cancelled")?;
    let listen_completions = {
        let completed = completed.clone();
        tokio::spawn(async move {
            while let Some(message) = completions.next().await {
                if let Ok(event) = serde_json::from_slice::<ExpirationComplete>(&message.payload) {
                    completed.lock().await.insert(event.order_id, Utc::now());
                }
            }
        })
    };
    let listen_cancellations = {
        let cancelled = cancelled.clone();
        tokio::spawn(async move {
            while let Some(message) = cancellations.next().await {
                if let Ok(event) = serde_json::from_slice::<OrderCancelled>(&message.payload) {
                    cancelled.lock().await.insert(event.id, Utc::now());
                }
            }
        })
    };
    nats.flush().await.context("could not subscribe")?;

    let tickets = Api::new(&stack.service("tickets")?.url())?;
    let orders = Api::new(&stack.service("orders")?.url())?;
    let seller = Api::new(&stack.ingress)?
        .sign_up("expiration-seller")
        .await?;
    let buyer = Api::new(&stack.ingress)?
        .sign_up("expiration-buyer")
        .await?;
    progress(format_args!(
        "expiration: creating {count} tickets and ordering each"
    ));
    let ids = create_tickets(&tickets, &seller, count).await?;
    let placed: Vec<(String, DateTime<Utc>)> = bounded(ids.len(), 8, |i| {
        let (orders, buyer, id) = (&orders, &buyer, &ids[i]);
        async move {
            let order = orders.order(buyer, id).await?;
            Ok((order.id, order.expires_at))
        }
    })
    .await?;
    let last_expiry = placed
        .iter()
        .map(|(_, expires_at)| *expires_at)
        .max()
        .context("no order was placed")?;
    progress(format_args!(
        "expiration: {} orders placed; the last expires at {last_expiry}; waiting",
        placed.len()
    ));
    let deadline = tokio::time::Instant::now()
        + (last_expiry - Utc::now()).to_std().unwrap_or_default()
        + GRACE;
    loop {
        let done = {
            let cancelled = cancelled.lock().await;
            placed.iter().all(|(id, _)| cancelled.contains_key(id))
        };
        if done || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    listen_completions.abort();
    listen_cancellations.abort();
    let (completed, cancelled) = (completed.lock().await, cancelled.lock().await);
    let result = Expiration {
        orders: placed.len(),
        window_seconds: stack.expiration_window.as_secs(),
        expiration_complete: Summary::of(&lateness(&placed, &completed)),
        cancelled: Summary::of(&lateness(&placed, &cancelled)),
        missing: placed
            .iter()
            .filter(|(id, _)| !cancelled.contains_key(id))
            .count(),
    };
    if let Some(summary) = &result.cancelled {
        progress(format_args!(
            "expiration: cancelled late by p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} missing)",
            summary.p50_ms, summary.p99_ms, summary.max_ms, result.missing
        ));
    }
    Ok(result)
}

/// Milliseconds from each order's `expiresAt` to its event's arrival, for those that arrived.
pub fn lateness(
    placed: &[(String, DateTime<Utc>)],
    arrivals: &HashMap<String, DateTime<Utc>>,
) -> Vec<f64> {
    placed
        .iter()
        .filter_map(|(id, expires_at)| {
            let arrived = arrivals.get(id)?;
            Some((*arrived - *expires_at).num_microseconds()? as f64 / 1000.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_arrival_minus_expiry_for_arrived_orders() {
        let at = |millis: i64| DateTime::from_timestamp_millis(millis).unwrap();
        let placed = vec![("a".to_owned(), at(1_000)), ("b".to_owned(), at(2_000))];
        let arrivals = HashMap::from([("a".to_owned(), at(1_250))]);
        assert_eq!(lateness(&placed, &arrivals), vec![250.0]);
    }
}
