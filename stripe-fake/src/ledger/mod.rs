//! The books: charges, refunds, payment intents, the events about them, and the responses saved
//! under idempotency keys.
//!
//! Every request is decided under one lock, so two requests with the same key never both
//! execute: the second one sees the first one's saved response, as Stripe guarantees. Events
//! are recorded under the same lock, in the change that caused them, and delivered later by
//! [`crate::webhooks`], which the books wake.
//!
//! Layout: `charges` (charges and refunds), `intents` (payment intents), `events` (the events
//! and their delivery state).

mod charges;
mod events;
mod intents;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::entries::{ChargeEntry, EventEntry, IntentEntry, RefundEntry};
use crate::objects::ApiError;

pub(crate) use events::Outgoing;
pub use intents::{Access, Authentication};

/// Everything in the books, as `GET /__ledger` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Every charge, declined ones and those of payment intents included, oldest first.
    pub charges: Vec<ChargeEntry>,
    /// Every refund, oldest first.
    pub refunds: Vec<RefundEntry>,
    /// Every payment intent, oldest first.
    #[serde(default)]
    pub intents: Vec<IntentEntry>,
}

impl LedgerSnapshot {
    /// The charges that took money (declined ones excluded).
    pub fn paid_charges(&self) -> Vec<&ChargeEntry> {
        self.charges.iter().filter(|charge| charge.paid).collect()
    }

    /// The refunds of `charge_id`.
    pub fn refunds_of(&self, charge_id: &str) -> Vec<&RefundEntry> {
        self.refunds
            .iter()
            .filter(|refund| refund.charge == charge_id)
            .collect()
    }

    /// The paid charges not refunded: the money kept.
    pub fn kept_charges(&self) -> Vec<&ChargeEntry> {
        self.charges
            .iter()
            .filter(|charge| charge.paid && !charge.refunded())
            .collect()
    }

    /// The payment intent `id`.
    pub fn intent(&self, id: &str) -> Option<&IntentEntry> {
        self.intents.iter().find(|intent| intent.id == id)
    }

    /// The payment intents whose `metadata[key]` is `value`, e.g. those of one order.
    pub fn intents_with_metadata(&self, key: &str, value: &str) -> Vec<&IntentEntry> {
        self.intents
            .iter()
            .filter(|intent| intent.metadata.get(key).is_some_and(|found| found == value))
            .collect()
    }
}

/// What a request gets: a status and Stripe's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// Whether it is a saved response replayed for a repeated idempotency key.
    pub replayed: bool,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            replayed: false,
        }
    }

    pub(crate) fn error(error: ApiError) -> Reply {
        Reply {
            status: error.status,
            body: error.body(),
            replayed: false,
        }
    }
}

/// The form parameters of a request, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `name`, unless it is absent or empty.
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// Removes `name` and answers its value: for the parameters that say who calls, which are
    /// not part of the request itself.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let index = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.remove(index).1)
    }

    /// The request as a string that is equal for equal requests, whatever the parameter order.
    fn fingerprint(&self, path: &str) -> String {
        let mut pairs: Vec<String> = self
            .0
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        pairs.sort_unstable();
        format!("POST {path}?{}", pairs.join("&"))
    }
}

/// The books, shared by every request. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ledger {
    books: Arc<Mutex<Books>>,
    /// Woken whenever an event is recorded, for the webhook deliverer.
    events_recorded: Arc<Notify>,
}

#[derive(Debug)]
struct Books {
    charges: Vec<ChargeEntry>,
    refunds: Vec<RefundEntry>,
    intents: Vec<IntentEntry>,
    events: Vec<EventEntry>,
    saved: HashMap<String, Saved>,
    /// Makes ids unique across runs of the fake.
    seed: u64,
    counter: u64,
}

/// A response saved under an idempotency key, with the request it answered.
#[derive(Debug)]
struct Saved {
    fingerprint: String,
    status: u16,
    body: Value,
}

impl Default for Ledger {
    fn default() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or_default();
        Ledger {
            books: Arc::new(Mutex::new(Books {
                charges: Vec::new(),
                refunds: Vec::new(),
                intents: Vec::new(),
                events: Vec::new(),
                saved: HashMap::new(),
                seed,
                counter: 0,
            })),
            events_recorded: Arc::new(Notify::new()),
        }
    }
}

impl Ledger {
    fn books(&self) -> MutexGuard<'_, Books> {
        // A panic while holding the lock leaves consistent books (every change is one push).
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the books.
    pub fn snapshot(&self) -> LedgerSnapshot {
        let books = self.books();
        LedgerSnapshot {
            charges: books.charges.clone(),
            refunds: books.refunds.clone(),
            intents: books.intents.clone(),
        }
    }

    /// Runs `execute` unless `key` already has a saved response: then replays it if the request
    /// is the same, and refuses it otherwise. `execute` says whether its reply is saved.
    fn idempotent(
        &self,
        key: Option<&str>,
        fingerprint: String,
        execute: impl FnOnce(&mut Books) -> (Reply, bool),
    ) -> Reply {
        let mut books = self.books();
        if let Some(key) = key
            && let Some(saved) = books.saved.get(key)
        {
            if saved.fingerprint != fingerprint {
                return Reply::error(ApiError::idempotency_mismatch(key));
            }
            return Reply {
                status: saved.status,
                body: saved.body.clone(),
                replayed: true,
            };
        }
        let (reply, save) = execute(&mut books);
        if let (Some(key), true) = (key, save) {
            books.saved.insert(
                key.to_owned(),
                Saved {
                    fingerprint,
                    status: reply.status,
                    body: reply.body.clone(),
                },
            );
        }
        reply
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl Books {
    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{:016x}{:06x}", self.seed, self.counter)
    }

    /// A secret for `id` that cannot be guessed from the ids the fake hands out.
    fn secret_for(&mut self, id: &str) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!("{}:{}:{id}", self.seed, self.counter));
        hex::encode(&digest[..12])
    }
}

/// `amount`: present, an integer, at least 50 (cents; Stripe's minimum in dollars).
fn required_amount(params: &Params) -> Result<i64, ApiError> {
    const MINIMUM_AMOUNT: i64 = 50;
    let Some(text) = params.non_empty("amount") else {
        return Err(ApiError::missing("amount"));
    };
    let Ok(amount) = text.parse::<i64>() else {
        return Err(ApiError::invalid(
            &format!("Invalid integer: {text}"),
            Some("parameter_invalid_integer"),
            Some("amount"),
        ));
    };
    if amount < MINIMUM_AMOUNT {
        return Err(ApiError::invalid(
            "Amount must be at least $0.50 usd",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    Ok(amount)
}

#[cfg(test)]
fn params(pairs: &[(&str, &str)]) -> Params {
    Params(
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    )
}
