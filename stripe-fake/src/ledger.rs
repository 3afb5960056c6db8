//! The books: charges, refunds, and the responses saved under idempotency keys.
//!
//! Every request is decided under one lock, so two requests with the same key never both
//! execute: the second one sees the first one's saved response, as Stripe guarantees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entries::{ChargeEntry, RefundEntry};
use crate::objects::{self, ApiError};

/// The smallest charge Stripe accepts in dollars: 50 cents.
const MINIMUM_AMOUNT: i64 = 50;

/// Everything in the books, as `GET /__ledger` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Every charge, declined ones included, oldest first.
    pub charges: Vec<ChargeEntry>,
    /// Every refund, oldest first.
    pub refunds: Vec<RefundEntry>,
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

    fn error(error: ApiError) -> Reply {
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
pub struct Ledger(Arc<Mutex<Books>>);

#[derive(Debug)]
struct Books {
    charges: Vec<ChargeEntry>,
    refunds: Vec<RefundEntry>,
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
        Ledger(Arc::new(Mutex::new(Books {
            charges: Vec::new(),
            refunds: Vec::new(),
            saved: HashMap::new(),
            seed,
            counter: 0,
        })))
    }
}

impl Ledger {
    fn books(&self) -> MutexGuard<'_, Books> {
        // A panic while holding the lock leaves consistent books (every change is one push).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the books.
    pub fn snapshot(&self) -> LedgerSnapshot {
        let books = self.books();
        LedgerSnapshot {
            charges: books.charges.clone(),
            refunds: books.refunds.clone(),
        }
    }

    /// `POST /v1/charges`.
    pub fn create_charge(&self, params: &Params, key: Option<&str>) -> Reply {
        self.idempotent(key, params.fingerprint("/v1/charges"), |books| {
            books.create_charge(params, key)
        })
    }

    /// `POST /v1/refunds`.
    pub fn create_refund(&self, params: &Params, key: Option<&str>) -> Reply {
        self.idempotent(key, params.fingerprint("/v1/refunds"), |books| {
            books.create_refund(params, key)
        })
    }

    /// `GET /v1/charges/{id}`.
    pub fn show_charge(&self, id: &str) -> Reply {
        let books = self.books();
        match books.charges.iter().find(|charge| charge.id == id) {
            Some(charge) => Reply::ok(objects::charge(charge)),
            None => Reply::error(ApiError::no_such("charge", id, "id")),
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

/// How a test token behaves.
enum Card {
    Good,
    Declined(objects::Decline),
}

fn card(token: &str) -> Option<Card> {
    const GOOD: [&str; 13] = [
        "tok_visa",
        "tok_visa_debit",
        "tok_mastercard",
        "tok_mastercard_debit",
        "tok_mastercard_prepaid",
        "tok_amex",
        "tok_discover",
        "tok_diners",
        "tok_jcb",
        "tok_unionpay",
        "tok_us",
        "tok_bypassPending",
        "tok_chargeCustomerFail",
    ];
    if GOOD.contains(&token) {
        return Some(Card::Good);
    }
    objects::Decline::for_token(token).map(Card::Declined)
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

    /// Validates like Stripe (nothing saved for a refused request), then charges or declines
    /// (both saved).
    fn create_charge(&mut self, params: &Params, key: Option<&str>) -> (Reply, bool) {
        let amount = match required_amount(params) {
            Ok(amount) => amount,
            Err(error) => return (Reply::error(error), false),
        };
        let Some(currency) = params.get("currency").filter(|value| !value.is_empty()) else {
            return (Reply::error(ApiError::missing("currency")), false);
        };
        let Some(source) = params.get("source").filter(|value| !value.is_empty()) else {
            return (
                Reply::error(ApiError::invalid(
                    "Must provide source or customer.",
                    Some("parameter_missing"),
                    Some("source"),
                )),
                false,
            );
        };
        let Some(card) = card(source) else {
            return (
                Reply::error(ApiError::no_such("token", source, "source")),
                false,
            );
        };
        let mut charge = ChargeEntry {
            id: self.next_id("ch"),
            amount,
            currency: currency.to_ascii_lowercase(),
            source: source.to_owned(),
            paid: true,
            amount_refunded: 0,
            created: now(),
            failure_code: None,
            failure_message: None,
            idempotency_key: key.map(str::to_owned),
        };
        let reply = match card {
            Card::Good => Reply::ok(objects::charge(&charge)),
            Card::Declined(decline) => {
                charge.paid = false;
                charge.failure_code = Some(decline.code.to_owned());
                charge.failure_message = Some(decline.message.to_owned());
                Reply::error(ApiError::card(&decline, &charge.id))
            }
        };
        self.charges.push(charge);
        (reply, true)
    }

    /// Refunds what is left of a paid charge (or `amount` of it).
    fn create_refund(&mut self, params: &Params, key: Option<&str>) -> (Reply, bool) {
        let Some(charge_id) = params.get("charge").filter(|value| !value.is_empty()) else {
            return (
                Reply::error(ApiError::invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    Some("parameter_missing"),
                    None,
                )),
                false,
            );
        };
        let Some(index) = self
            .charges
            .iter()
            .position(|charge| charge.id == charge_id)
        else {
            return (
                Reply::error(ApiError::no_such("charge", charge_id, "charge")),
                false,
            );
        };
        let charge = &self.charges[index];
        if !charge.paid {
            return (
                Reply::error(ApiError::invalid(
                    &format!("Charge {charge_id} has no successful payment to refund."),
                    Some("charge_not_refundable"),
                    Some("charge"),
                )),
                false,
            );
        }
        let left = charge.amount - charge.amount_refunded;
        let currency = charge.currency.clone();
        if left <= 0 {
            return (
                Reply::error(ApiError::invalid(
                    &format!("Charge {charge_id} has already been refunded."),
                    Some("charge_already_refunded"),
                    None,
                )),
                false,
            );
        }
        let amount = match params.get("amount") {
            None => left,
            Some(text) => match text.parse::<i64>() {
                Ok(amount) if amount > 0 && amount <= left => amount,
                Ok(_) | Err(_) => {
                    return (
                        Reply::error(ApiError::invalid(
                            &format!(
                                "Refund amount ({text}) is greater than unrefunded amount on charge ({left})"
                            ),
                            Some("amount_too_large"),
                            Some("amount"),
                        )),
                        false,
                    );
                }
            },
        };
        let refund = RefundEntry {
            id: self.next_id("re"),
            charge: charge_id.to_owned(),
            amount,
            currency,
            created: now(),
            idempotency_key: key.map(str::to_owned),
        };
        self.charges[index].amount_refunded += amount;
        let reply = Reply::ok(objects::refund(&refund));
        self.refunds.push(refund);
        (reply, true)
    }
}

/// `amount`: present, an integer, at least 50.
fn required_amount(params: &Params) -> Result<i64, ApiError> {
    let Some(text) = params.get("amount").filter(|value| !value.is_empty()) else {
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
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    fn visa(amount: &str) -> Params {
        params(&[
            ("amount", amount),
            ("currency", "usd"),
            ("source", "tok_visa"),
        ])
    }

    #[test]
    fn a_repeated_key_replays_the_first_answer_and_charges_once() {
        let ledger = Ledger::default();
        let first = ledger.create_charge(&visa("2000"), Some("k1"));
        let again = ledger.create_charge(&visa("2000"), Some("k1"));
        assert_eq!(first.status, 200);
        assert_eq!((again.status, again.replayed), (200, true));
        assert_eq!(first.body, again.body);
        assert_eq!(ledger.snapshot().charges.len(), 1);

        let other = ledger.create_charge(&visa("2500"), Some("k1"));
        assert_eq!(other.status, 400);
        assert_eq!(other.body["error"]["type"], "idempotency_error");
        let fresh = ledger.create_charge(&visa("2000"), Some("k2"));
        assert_ne!(fresh.body["id"], first.body["id"]);
    }

    #[test]
    fn declines_are_saved_and_validation_errors_are_not() {
        let ledger = Ledger::default();
        let declined = params(&[
            ("amount", "2000"),
            ("currency", "usd"),
            ("source", "tok_chargeDeclined"),
        ]);
        let first = ledger.create_charge(&declined, Some("d"));
        assert_eq!(first.status, 402);
        assert_eq!(first.body["error"]["message"], "Your card was declined.");
        assert!(ledger.create_charge(&declined, Some("d")).replayed);

        let too_small = ledger.create_charge(&visa("49"), Some("v"));
        assert_eq!(too_small.body["error"]["code"], "amount_too_small");
        assert_eq!(ledger.create_charge(&visa("1999"), Some("v")).status, 200);
        assert_eq!(
            ledger.create_charge(&visa("19.99"), None).body["error"]["param"],
            "amount"
        );
    }

    #[test]
    fn a_charge_is_refunded_once() {
        let ledger = Ledger::default();
        let charge = ledger.create_charge(&visa("2000"), None);
        let id = charge.body["id"].as_str().unwrap();
        let refund = params(&[("charge", id)]);
        assert_eq!(ledger.create_refund(&refund, Some("r")).status, 200);
        assert!(ledger.create_refund(&refund, Some("r")).replayed);
        let twice = ledger.create_refund(&refund, Some("other"));
        assert_eq!(twice.status, 400);
        assert_eq!(twice.body["error"]["code"], "charge_already_refunded");
        let books = ledger.snapshot();
        assert_eq!(books.refunds_of(id).len(), 1);
        assert!(books.kept_charges().is_empty());
    }
}
