//! Payment intents: created by the server with the secret key, read and confirmed by it or by
//! the browser with the intent's client secret, authenticated on the 3-D Secure page, cancelled.
//!
//! The test payment methods behave as Stripe's: `pm_card_visa` and friends succeed,
//! `pm_card_chargeDeclined` and friends are declined (a failed charge, a 402 `card_error`, the
//! intent back to `requires_payment_method`), `pm_card_authenticationRequired` and
//! `pm_card_threeDSecure2Required` need the customer to authenticate (`requires_action` with a
//! `redirect_to_url` to the fake's 3-D Secure page).

use std::collections::BTreeMap;

use super::{Books, Ledger, Params, Reply, now, required_amount};
use crate::entries::{IntentEntry, IntentEvent, IntentStatus, PaymentError};
use crate::links::with_query;
use crate::objects::{self, ApiError, Decline};

/// Who asks about an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The server, with its secret key: any intent.
    SecretKey,
    /// A browser, with the publishable key and this client secret: only the intent it is of.
    ClientSecret(String),
}

/// How the customer answered the 3-D Secure challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// Authenticated: the card is charged.
    Complete,
    /// Failed: the intent waits for another card.
    Fail,
}

/// How a test payment method behaves when confirmed.
enum PaymentMethod {
    Good,
    Declined(Decline),
    NeedsAuthentication,
}

fn payment_method(id: &str) -> Option<PaymentMethod> {
    const GOOD: [&str; 11] = [
        "pm_card_visa",
        "pm_card_visa_debit",
        "pm_card_mastercard",
        "pm_card_mastercard_debit",
        "pm_card_mastercard_prepaid",
        "pm_card_amex",
        "pm_card_discover",
        "pm_card_diners",
        "pm_card_jcb",
        "pm_card_unionpay",
        "pm_card_us",
    ];
    const AUTHENTICATION: [&str; 3] = [
        "pm_card_authenticationRequired",
        "pm_card_threeDSecure2Required",
        "pm_card_threeDSecureRequired",
    ];
    if GOOD.contains(&id) {
        return Some(PaymentMethod::Good);
    }
    if AUTHENTICATION.contains(&id) {
        return Some(PaymentMethod::NeedsAuthentication);
    }
    Decline::for_payment_method(id).map(PaymentMethod::Declined)
}

impl Ledger {
    /// `POST /v1/payment_intents`; with `confirm=true` it is confirmed at once, and the 3-D
    /// Secure page, if needed, is under `redirect_base`.
    pub fn create_intent(&self, params: &Params, key: Option<&str>, redirect_base: &str) -> Reply {
        let reply = self.idempotent(key, params.fingerprint("/v1/payment_intents"), |books| {
            books.create_intent(params, key, redirect_base)
        });
        self.events_recorded.notify_one();
        reply
    }

    /// `GET /v1/payment_intents/{id}`.
    pub fn show_intent(&self, id: &str, access: &Access) -> Reply {
        let books = self.books();
        match books.accessible_intent(id, access) {
            Ok(index) => Reply::ok(objects::payment_intent(&books.intents[index])),
            Err(error) => Reply::error(error),
        }
    }

    /// `POST /v1/payment_intents/{id}/confirm` (`payment_method`, optional `return_url`); the
    /// 3-D Secure page, if needed, is under `redirect_base`.
    pub fn confirm_intent(
        &self,
        id: &str,
        params: &Params,
        key: Option<&str>,
        access: &Access,
        redirect_base: &str,
    ) -> Reply {
        // The client secret never changes, so checking it before taking the books again for
        // the request itself decides the same.
        if let Err(error) = self.books().accessible_intent(id, access) {
            return Reply::error(error);
        }
        let path = format!("/v1/payment_intents/{id}/confirm");
        let reply = self.idempotent(key, params.fingerprint(&path), |books| {
            match books.accessible_intent(id, access) {
                Ok(index) => books.confirm_intent(index, params, key, redirect_base),
                Err(error) => (Reply::error(error), false),
            }
        });
        self.events_recorded.notify_one();
        reply
    }

    /// `POST /v1/payment_intents/{id}/cancel` (optional `cancellation_reason`).
    pub fn cancel_intent(&self, id: &str, params: &Params, key: Option<&str>) -> Reply {
        let path = format!("/v1/payment_intents/{id}/cancel");
        let reply = self.idempotent(key, params.fingerprint(&path), |books| {
            match books.accessible_intent(id, &Access::SecretKey) {
                Ok(index) => books.cancel_intent(index, params),
                Err(error) => (Reply::error(error), false),
            }
        });
        self.events_recorded.notify_one();
        reply
    }

    /// The customer's answer on the 3-D Secure page: the intent as it is then, or why it could
    /// not be authenticated (unknown, or not waiting for authentication).
    pub fn authenticate_intent(
        &self,
        id: &str,
        outcome: Authentication,
    ) -> Result<IntentEntry, Reply> {
        let mut books = self.books();
        let index = books
            .accessible_intent(id, &Access::SecretKey)
            .map_err(Reply::error)?;
        if books.intents[index].status != IntentStatus::RequiresAction {
            let status = books.intents[index].status.as_str();
            return Err(Reply::error(books.unexpected_state(
                index,
                &format!(
                    "This PaymentIntent has a status of {status}: it is not waiting for authentication."
                ),
            )));
        }
        match outcome {
            Authentication::Complete => books.succeed(index, None),
            Authentication::Fail => books.fail_authentication(index),
        }
        let intent = books.intents[index].clone();
        drop(books);
        self.events_recorded.notify_one();
        Ok(intent)
    }
}

impl Books {
    /// The index of intent `id` if `access` lets the caller see it.
    fn accessible_intent(&self, id: &str, access: &Access) -> Result<usize, ApiError> {
        let Some(index) = self.intents.iter().position(|intent| intent.id == id) else {
            return Err(ApiError::no_such("payment_intent", id, "id"));
        };
        match access {
            Access::SecretKey => Ok(index),
            Access::ClientSecret(secret) if *secret == self.intents[index].client_secret => {
                Ok(index)
            }
            Access::ClientSecret(_) => Err(ApiError::invalid(
                "The client_secret provided does not match any associated PaymentIntent on this account. Ensure the publishable key used belongs to the same account that created the PaymentIntent.",
                Some("payment_intent_invalid_parameter"),
                Some("client_secret"),
            )),
        }
    }

    /// Validates like Stripe (nothing saved for a refused request), then creates the intent and
    /// confirms it if asked to.
    fn create_intent(
        &mut self,
        params: &Params,
        key: Option<&str>,
        redirect_base: &str,
    ) -> (Reply, bool) {
        let amount = match required_amount(params) {
            Ok(amount) => amount,
            Err(error) => return (Reply::error(error), false),
        };
        let Some(currency) = params.non_empty("currency") else {
            return (Reply::error(ApiError::missing("currency")), false);
        };
        let method = params.non_empty("payment_method");
        if let Some(method) = method
            && payment_method(method).is_none()
        {
            return (Reply::error(no_such_payment_method(method)), false);
        }
        let confirm = params.get("confirm") == Some("true");
        if confirm && method.is_none() {
            return (
                Reply::error(ApiError::invalid(
                    "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm it, pass one in the payment_method parameter.",
                    Some("payment_intent_unexpected_state"),
                    Some("payment_method"),
                )),
                false,
            );
        }
        let metadata: BTreeMap<String, String> = params
            .0
            .iter()
            .filter_map(|(name, value)| {
                let field = name.strip_prefix("metadata[")?.strip_suffix(']')?;
                Some((field.to_owned(), value.clone()))
            })
            .collect();
        let id = self.next_id("pi");
        let client_secret = format!("{id}_secret_{}", self.secret_for(&id));
        self.intents.push(IntentEntry {
            id,
            client_secret,
            amount,
            currency: currency.to_ascii_lowercase(),
            status: if method.is_some() {
                IntentStatus::RequiresConfirmation
            } else {
                IntentStatus::RequiresPaymentMethod
            },
            metadata,
            automatic_payment_methods: params.get("automatic_payment_methods[enabled]")
                == Some("true"),
            payment_method: method.map(str::to_owned),
            latest_charge: None,
            amount_received: 0,
            last_payment_error: None,
            redirect_url: None,
            return_url: params.non_empty("return_url").map(str::to_owned),
            created: now(),
            canceled_at: None,
            cancellation_reason: None,
            idempotency_key: key.map(str::to_owned),
        });
        let index = self.intents.len() - 1;
        if confirm {
            return self.confirm_intent(index, params, key, redirect_base);
        }
        (
            Reply::ok(objects::payment_intent(&self.intents[index])),
            true,
        )
    }

    /// Tries the intent's payment method (or the one in `params`): it succeeds, is declined,
    /// or needs authentication.
    fn confirm_intent(
        &mut self,
        index: usize,
        params: &Params,
        key: Option<&str>,
        redirect_base: &str,
    ) -> (Reply, bool) {
        let status = self.intents[index].status;
        if matches!(status, IntentStatus::Succeeded | IntentStatus::Canceled) {
            let message = match status {
                IntentStatus::Succeeded => "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.".to_owned(),
                _ => format!(
                    "You cannot confirm this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation, requires_action.",
                    status.as_str()
                ),
            };
            return (Reply::error(self.unexpected_state(index, &message)), false);
        }
        let Some(method_id) = params
            .non_empty("payment_method")
            .map(str::to_owned)
            .or_else(|| self.intents[index].payment_method.clone())
        else {
            return (
                Reply::error(self.unexpected_state(
                    index,
                    "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm it, update it with a payment method or pass one in the payment_method parameter.",
                )),
                false,
            );
        };
        let Some(method) = payment_method(&method_id) else {
            return (Reply::error(no_such_payment_method(&method_id)), false);
        };
        let intent = &mut self.intents[index];
        intent.payment_method = Some(method_id);
        if let Some(return_url) = params.non_empty("return_url") {
            intent.return_url = Some(return_url.to_owned());
        }
        intent.last_payment_error = None;
        intent.redirect_url = None;
        match method {
            PaymentMethod::Good => {
                self.succeed(index, key);
                (
                    Reply::ok(objects::payment_intent(&self.intents[index])),
                    true,
                )
            }
            PaymentMethod::Declined(decline) => {
                (Reply::error(self.decline(index, &decline, key)), true)
            }
            PaymentMethod::NeedsAuthentication => {
                let intent = &mut self.intents[index];
                let page = format!("{redirect_base}/__3ds/{}", intent.id);
                intent.redirect_url = Some(match &intent.return_url {
                    Some(return_url) => with_query(&page, &[("return_url", return_url)]),
                    None => page,
                });
                intent.status = IntentStatus::RequiresAction;
                self.record_event(IntentEvent::RequiresAction, index);
                (
                    Reply::ok(objects::payment_intent(&self.intents[index])),
                    true,
                )
            }
        }
    }

    /// Charges the intent's card: it succeeds.
    fn succeed(&mut self, index: usize, key: Option<&str>) {
        let intent = &self.intents[index];
        let (amount, currency, id) = (intent.amount, intent.currency.clone(), intent.id.clone());
        let method = intent.payment_method.clone().unwrap_or_default();
        let charge = self.record_charge(amount, &currency, &method, None, key, Some(&id));
        let intent = &mut self.intents[index];
        intent.status = IntentStatus::Succeeded;
        intent.latest_charge = Some(charge.id);
        intent.amount_received = amount;
        intent.redirect_url = None;
        intent.last_payment_error = None;
        self.record_event(IntentEvent::Succeeded, index);
    }

    /// Books the declined charge and sends the intent back for another card; answers the 402.
    fn decline(&mut self, index: usize, decline: &Decline, key: Option<&str>) -> ApiError {
        let intent = &self.intents[index];
        let (amount, currency, id) = (intent.amount, intent.currency.clone(), intent.id.clone());
        let method = intent.payment_method.clone().unwrap_or_default();
        let charge = self.record_charge(amount, &currency, &method, Some(decline), key, Some(&id));
        let intent = &mut self.intents[index];
        intent.status = IntentStatus::RequiresPaymentMethod;
        intent.payment_method = None;
        intent.latest_charge = Some(charge.id.clone());
        intent.last_payment_error = Some(PaymentError {
            type_: "card_error".to_owned(),
            code: decline.code.to_owned(),
            decline_code: Some(decline.decline_code.to_owned()),
            message: decline.message.to_owned(),
            charge: Some(charge.id.clone()),
        });
        self.record_event(IntentEvent::PaymentFailed, index);
        ApiError::card(
            decline,
            &charge.id,
            Some(objects::payment_intent(&self.intents[index])),
        )
    }

    /// The customer failed 3-D Secure: nothing is charged, the intent waits for another card.
    fn fail_authentication(&mut self, index: usize) {
        let intent = &mut self.intents[index];
        intent.status = IntentStatus::RequiresPaymentMethod;
        intent.payment_method = None;
        intent.redirect_url = None;
        intent.last_payment_error = Some(PaymentError {
            type_: "invalid_request_error".to_owned(),
            code: "payment_intent_authentication_failure".to_owned(),
            decline_code: None,
            message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.".to_owned(),
            charge: None,
        });
        self.record_event(IntentEvent::PaymentFailed, index);
    }

    /// Cancels an intent that was not paid.
    fn cancel_intent(&mut self, index: usize, params: &Params) -> (Reply, bool) {
        const REASONS: [&str; 4] = [
            "duplicate",
            "fraudulent",
            "requested_by_customer",
            "abandoned",
        ];
        let reason = params.non_empty("cancellation_reason");
        if let Some(reason) = reason
            && !REASONS.contains(&reason)
        {
            return (
                Reply::error(ApiError::invalid(
                    &format!(
                        "Invalid cancellation_reason: must be one of {}",
                        REASONS.join(", ")
                    ),
                    Some("parameter_invalid_string"),
                    Some("cancellation_reason"),
                )),
                false,
            );
        }
        let status = self.intents[index].status;
        if matches!(status, IntentStatus::Succeeded | IntentStatus::Canceled) {
            let message = format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                status.as_str()
            );
            return (Reply::error(self.unexpected_state(index, &message)), false);
        }
        let intent = &mut self.intents[index];
        intent.status = IntentStatus::Canceled;
        intent.canceled_at = Some(now());
        intent.cancellation_reason = reason.map(str::to_owned);
        intent.redirect_url = None;
        self.record_event(IntentEvent::Canceled, index);
        (
            Reply::ok(objects::payment_intent(&self.intents[index])),
            true,
        )
    }

    /// A 400 `payment_intent_unexpected_state` carrying the intent, as Stripe's does.
    fn unexpected_state(&self, index: usize, message: &str) -> ApiError {
        ApiError::unexpected_state(message, objects::payment_intent(&self.intents[index]))
    }
}

fn no_such_payment_method(id: &str) -> ApiError {
    ApiError::invalid(
        &format!("No such PaymentMethod: '{id}'"),
        Some("resource_missing"),
        Some("payment_method"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::params;
    use super::*;

    const BASE: &str = "http://fake.test";

    fn create(ledger: &Ledger) -> (String, String) {
        let reply = ledger.create_intent(
            &params(&[
                ("amount", "2000"),
                ("currency", "usd"),
                ("metadata[orderId]", "o1"),
            ]),
            None,
            BASE,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let secret = reply.body["client_secret"].as_str().unwrap().to_owned();
        (id, secret)
    }

    fn confirm(ledger: &Ledger, id: &str, method: &str) -> Reply {
        ledger.confirm_intent(
            id,
            &params(&[
                ("payment_method", method),
                ("return_url", "http://shop.test/done?a=1"),
            ]),
            None,
            &Access::SecretKey,
            BASE,
        )
    }

    #[test]
    fn a_visa_pays_and_a_refund_by_intent_is_refused_the_second_time() {
        let ledger = Ledger::default();
        let (id, _) = create(&ledger);
        let paid = confirm(&ledger, &id, "pm_card_visa");
        assert_eq!(paid.body["status"], "succeeded");
        let books = ledger.snapshot();
        let intent = books.intent(&id).unwrap();
        assert_eq!(books.intents_with_metadata("orderId", "o1").len(), 1);
        let charge = &books.paid_charges()[0];
        assert_eq!(intent.latest_charge.as_deref(), Some(charge.id.as_str()));
        assert_eq!(charge.payment_intent.as_deref(), Some(id.as_str()));

        let refund = params(&[("payment_intent", &id)]);
        let first = ledger.create_refund(&refund, None);
        assert_eq!(first.body["payment_intent"], id.as_str());
        let twice = ledger.create_refund(&refund, None);
        assert_eq!(twice.body["error"]["code"], "charge_already_refunded");
        assert!(ledger.snapshot().kept_charges().is_empty());
    }

    #[test]
    fn a_decline_books_a_failed_charge_and_the_intent_waits_for_another_card() {
        let ledger = Ledger::default();
        let (id, _) = create(&ledger);
        let declined = confirm(&ledger, &id, "pm_card_visa_chargeDeclinedInsufficientFunds");
        assert_eq!(declined.status, 402);
        assert_eq!(declined.body["error"]["payment_intent"]["id"], id.as_str());
        let books = ledger.snapshot();
        let intent = books.intent(&id).unwrap();
        assert_eq!(intent.status, IntentStatus::RequiresPaymentMethod);
        assert_eq!(
            intent
                .last_payment_error
                .as_ref()
                .unwrap()
                .decline_code
                .as_deref(),
            Some("insufficient_funds")
        );
        assert!(books.paid_charges().is_empty());
        let refund = ledger.create_refund(&params(&[("payment_intent", &id)]), None);
        assert_eq!(refund.body["error"]["code"], "charge_not_refundable");
        assert_eq!(confirm(&ledger, &id, "pm_card_mastercard").status, 200);
    }

    #[test]
    fn authentication_is_a_redirect_then_the_page_decides() {
        let ledger = Ledger::default();
        let (id, secret) = create(&ledger);
        let pending = confirm(&ledger, &id, "pm_card_authenticationRequired");
        assert_eq!(pending.body["status"], "requires_action");
        assert_eq!(
            pending.body["next_action"]["redirect_to_url"]["url"],
            format!("{BASE}/__3ds/{id}?return_url=http%3A%2F%2Fshop.test%2Fdone%3Fa%3D1")
        );
        let failed = ledger
            .authenticate_intent(&id, Authentication::Fail)
            .unwrap();
        assert_eq!(failed.status, IntentStatus::RequiresPaymentMethod);
        assert!(
            ledger
                .authenticate_intent(&id, Authentication::Complete)
                .is_err()
        );

        confirm(&ledger, &id, "pm_card_threeDSecure2Required");
        let paid = ledger
            .authenticate_intent(&id, Authentication::Complete)
            .unwrap();
        assert_eq!(paid.status, IntentStatus::Succeeded);
        assert_eq!(paid.client_secret, secret);
        let types: Vec<IntentEvent> = ledger.events().iter().map(|event| event.type_).collect();
        assert_eq!(
            types,
            [
                IntentEvent::RequiresAction,
                IntentEvent::PaymentFailed,
                IntentEvent::RequiresAction,
                IntentEvent::Succeeded
            ]
        );
    }

    #[test]
    fn a_browser_sees_only_the_intent_of_its_client_secret() {
        let ledger = Ledger::default();
        let (id, secret) = create(&ledger);
        let (_, other_secret) = create(&ledger);
        assert_eq!(
            ledger
                .show_intent(&id, &Access::ClientSecret(secret))
                .status,
            200
        );
        let refused = ledger.show_intent(&id, &Access::ClientSecret(other_secret));
        assert_eq!(refused.status, 400);
        assert_eq!(refused.body["error"]["param"], "client_secret");
    }
}
