//! Webhook delivery, as Stripe does it: each event is POSTed as JSON to the endpoint with a
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` header,
//! signed afresh for every attempt, and retried until the endpoint answers 2xx.
//!
//! Delivery runs in the background, never under the books' lock: a dispatcher wakes whenever
//! the books record an event and gives each intent with waiting events a worker of its own,
//! which delivers that intent's events one after the other, so an endpoint sees them in the
//! order they happened. A failed attempt is retried after 0.5 s, 1 s, 2 s ... up to 30 s apart
//! (Stripe's schedule, compressed from days to minutes), up to a settable number of attempts.
//! While webhooks are paused, events wait; resuming delivers them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::ledger::{Ledger, Outgoing};

/// How many times an event is sent before the fake stops retrying it: with the delays doubling
/// from 0.5 s up to 30 s, about ten minutes of retries.
pub const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 26;

/// The wait before the first retry; each later one waits twice as long as the one before.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
/// The longest wait between two attempts.
const LONGEST_RETRY_DELAY: Duration = Duration::from_secs(30);
/// How long an endpoint may take to answer one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where events are sent, and the endpoint's signing secret (`whsec_...`).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The endpoint, e.g. `http://127.0.0.1:3000/api/payments/webhook`.
    pub url: String,
    /// The secret the endpoint checks `Stripe-Signature` with.
    pub secret: String,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why an event could not be sent by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryError {
    /// No event has that id.
    UnknownEvent,
    /// The fake was started without a webhook endpoint.
    NoWebhookTarget,
    /// The endpoint did not answer (refused, reset or timed out).
    Unreachable,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            DeliveryError::UnknownEvent => "no such event",
            DeliveryError::NoWebhookTarget => "the fake has no webhook endpoint",
            DeliveryError::Unreachable => "the webhook endpoint did not answer",
        })
    }
}

impl std::error::Error for DeliveryError {}

/// The webhook deliverer of one fake. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Webhooks(Arc<Deliverer>);

#[derive(Debug)]
struct Deliverer {
    ledger: Ledger,
    target: Option<WebhookTarget>,
    attempts: u32,
    paused: watch::Sender<bool>,
    http: reqwest::Client,
}

impl Webhooks {
    /// Delivers `ledger`'s events to `target` (none: events are only recorded), each up to
    /// `attempts` times, once [`Webhooks::run`] runs.
    pub(crate) fn new(ledger: Ledger, target: Option<WebhookTarget>, attempts: u32) -> Webhooks {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .unwrap_or_default();
        Webhooks(Arc::new(Deliverer {
            ledger,
            target,
            attempts,
            paused: watch::Sender::new(false),
            http,
        }))
    }

    /// Holds back deliveries (attempts under way finish); events keep being recorded.
    pub(crate) fn pause(&self) {
        self.0.paused.send_replace(true);
    }

    /// Delivers what waited while paused, and what comes next.
    pub(crate) fn resume(&self) {
        self.0.paused.send_replace(false);
    }

    /// Sends event `id` once, now, paused or not, and answers the endpoint's status.
    pub(crate) async fn deliver(&self, id: &str) -> Result<u16, DeliveryError> {
        let Some(target) = &self.0.target else {
            return Err(DeliveryError::NoWebhookTarget);
        };
        let Some(event) = self.0.ledger.event(id) else {
            return Err(DeliveryError::UnknownEvent);
        };
        let status = self.send(target, &event).await;
        self.0.ledger.record_attempt(&event.id, status);
        status.ok_or(DeliveryError::Unreachable)
    }

    /// The dispatcher: gives every intent with events waiting a worker, until aborted. Returns
    /// at once without a target.
    pub(crate) async fn run(self) {
        if self.0.target.is_none() {
            return;
        }
        let mut workers = JoinSet::new();
        let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
        loop {
            for intent in self.0.ledger.intents_with_pending_events() {
                if !busy.values().any(|working| *working == intent) {
                    let worker = workers.spawn(self.clone().deliver_in_order(intent.clone()));
                    busy.insert(worker.id(), intent);
                }
            }
            // A worker that found nothing left and an event recorded just after both wake
            // this loop, which then looks again.
            tokio::select! {
                () = self.0.ledger.events_recorded().notified() => {}
                Some(done) = workers.join_next_with_id() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(error) => error.id(),
                    };
                    busy.remove(&id);
                }
            }
        }
    }

    /// Delivers the waiting events of `intent`, oldest first, each until it is delivered or
    /// its retries run out.
    async fn deliver_in_order(self, intent: String) {
        while let Some(event) = self.0.ledger.next_pending_event(&intent) {
            self.deliver_with_retries(&event).await;
        }
    }

    async fn deliver_with_retries(&self, event: &Outgoing) {
        let Some(target) = &self.0.target else {
            return;
        };
        let mut delay = FIRST_RETRY_DELAY;
        for attempt in 1..=self.0.attempts {
            self.resumed().await;
            // It may have been delivered by hand meanwhile.
            if !self.0.ledger.event_pending(&event.id) {
                return;
            }
            let status = self.send(target, event).await;
            self.0.ledger.record_attempt(&event.id, status);
            if status.is_some_and(|status| (200..300).contains(&status)) {
                return;
            }
            if attempt < self.0.attempts {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(LONGEST_RETRY_DELAY);
            }
        }
        tracing::warn!(event = %event.id, "webhook retries exhausted");
        self.0.ledger.exhaust_retries(&event.id);
    }

    async fn resumed(&self) {
        let mut paused = self.0.paused.subscribe();
        // Never fails: `self` holds the sender.
        let _ = paused.wait_for(|paused| !*paused).await;
    }

    /// One attempt: the endpoint's status, none if it did not answer.
    async fn send(&self, target: &WebhookTarget, event: &Outgoing) -> Option<u16> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        let answer = self
            .0
            .http
            .post(&target.url)
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .header(
                "stripe-signature",
                signature(&target.secret, timestamp, &event.body),
            )
            .body(event.body.clone())
            .send()
            .await;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                tracing::debug!(event = %event.id, status, "webhook delivered");
                Some(status)
            }
            Err(error) => {
                tracing::debug!(event = %event.id, %error, "webhook endpoint unreachable");
                None
            }
        }
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}
