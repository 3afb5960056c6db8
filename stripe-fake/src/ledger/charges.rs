//! Charges and refunds: `POST /v1/charges`, `GET /v1/charges/{id}`, `POST /v1/refunds`.

use super::{Books, Ledger, Params, Reply, now, required_amount};
use crate::entries::{ChargeEntry, RefundEntry};
use crate::objects::{self, ApiError, Decline};

impl Ledger {
    /// `POST /v1/charges`.
    pub fn create_charge(&self, params: &Params, key: Option<&str>) -> Reply {
        self.idempotent(key, params.fingerprint("/v1/charges"), |books| {
            books.create_charge(params, key)
        })
    }

    /// `POST /v1/refunds`, of a `charge` or of a `payment_intent`'s charge.
    pub fn create_refund(&self, params: &Params, key: Option<&str>) -> Reply {
        self.idempotent(key, params.fingerprint("/v1/refunds"), |books| match books
            .refunded_charge(params)
        {
            Ok(index) => books.refund_charge(index, params, key),
            Err(error) => (Reply::error(error), false),
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
}

/// Whether a test token charges or is declined.
enum Card {
    Good,
    Declined(Decline),
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
    Decline::for_token(token).map(Card::Declined)
}

impl Books {
    /// Validates like Stripe (nothing saved for a refused request), then charges or declines
    /// (both saved).
    fn create_charge(&mut self, params: &Params, key: Option<&str>) -> (Reply, bool) {
        let amount = match required_amount(params) {
            Ok(amount) => amount,
            Err(error) => return (Reply::error(error), false),
        };
        let Some(currency) = params.non_empty("currency") else {
            return (Reply::error(ApiError::missing("currency")), false);
        };
        let Some(source) = params.non_empty("source") else {
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
        let declined = match card {
            Card::Good => None,
            Card::Declined(decline) => Some(decline),
        };
        let charge = self.record_charge(amount, currency, source, declined.as_ref(), key, None);
        let reply = match declined {
            None => Reply::ok(objects::charge(&charge)),
            Some(decline) => Reply::error(ApiError::card(&decline, &charge.id, None)),
        };
        (reply, true)
    }

    /// Books a charge of `amount`, paid unless `declined`.
    pub(super) fn record_charge(
        &mut self,
        amount: i64,
        currency: &str,
        source: &str,
        declined: Option<&Decline>,
        key: Option<&str>,
        payment_intent: Option<&str>,
    ) -> ChargeEntry {
        let charge = ChargeEntry {
            id: self.next_id("ch"),
            amount,
            currency: currency.to_ascii_lowercase(),
            source: source.to_owned(),
            paid: declined.is_none(),
            amount_refunded: 0,
            created: now(),
            failure_code: declined.map(|decline| decline.code.to_owned()),
            failure_message: declined.map(|decline| decline.message.to_owned()),
            idempotency_key: key.map(str::to_owned),
            payment_intent: payment_intent.map(str::to_owned),
        };
        self.charges.push(charge.clone());
        charge
    }

    /// The index of the charge a refund request names, directly or through its intent.
    fn refunded_charge(&self, params: &Params) -> Result<usize, ApiError> {
        let charge_id = match (
            params.non_empty("charge"),
            params.non_empty("payment_intent"),
        ) {
            (Some(charge_id), None) => charge_id,
            (None, Some(intent_id)) => {
                let Some(intent) = self.intents.iter().find(|intent| intent.id == intent_id) else {
                    return Err(ApiError::no_such(
                        "payment_intent",
                        intent_id,
                        "payment_intent",
                    ));
                };
                match (&intent.latest_charge, intent.amount_received) {
                    (Some(charge_id), received) if received > 0 => charge_id.as_str(),
                    _ => {
                        return Err(ApiError::invalid(
                            &format!(
                                "This PaymentIntent ({intent_id}) does not have a successful charge to refund."
                            ),
                            Some("charge_not_refundable"),
                            Some("payment_intent"),
                        ));
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You cannot specify both charge and payment_intent.",
                    Some("parameter_unknown"),
                    Some("payment_intent"),
                ));
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    Some("parameter_missing"),
                    None,
                ));
            }
        };
        self.charges
            .iter()
            .position(|charge| charge.id == charge_id)
            .ok_or_else(|| ApiError::no_such("charge", charge_id, "charge"))
    }

    /// Refunds what is left of the paid charge at `index` (or `amount` of it).
    fn refund_charge(&mut self, index: usize, params: &Params, key: Option<&str>) -> (Reply, bool) {
        let charge = &self.charges[index];
        let charge_id = charge.id.clone();
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
        let payment_intent = charge.payment_intent.clone();
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
            charge: charge_id,
            amount,
            currency,
            created: now(),
            idempotency_key: key.map(str::to_owned),
            payment_intent,
        };
        self.charges[index].amount_refunded += amount;
        let reply = Reply::ok(objects::refund(&refund));
        self.refunds.push(refund);
        (reply, true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::params;
    use super::*;

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
