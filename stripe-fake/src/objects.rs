//! Stripe's JSON: charge, refund, payment intent and event objects, and the error envelope
//! `{"error":{"type","code","message","param"?,...}}`.
//!
//! Objects carry every field `async-stripe` requires to deserialize them; optional ones that
//! mean nothing here are `null`.

use serde_json::{Value, json};

use crate::entries::{ChargeEntry, IntentEntry, IntentEvent, PaymentError, RefundEntry};

/// Shown on the customer's statement.
const STATEMENT_DESCRIPTOR: &str = "TICKETING";

/// The API version events are written in: `async-stripe`'s (`stripe_shared::version::VERSION`),
/// so the webhook crate reads them as the version it was generated for.
pub const API_VERSION: &str = "2026-09-30.endive";

/// A charge object.
pub fn charge(charge: &ChargeEntry) -> Value {
    let status = if charge.paid { "succeeded" } else { "failed" };
    json!({
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": if charge.paid { charge.amount } else { 0 },
        "amount_refunded": charge.amount_refunded,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": if charge.paid { json!(charge.id.replacen("ch_", "txn_", 1)) } else { Value::Null },
        "billing_details": {
            "address": null,
            "email": null,
            "name": null,
            "phone": null,
            "tax_id": null
        },
        "calculated_statement_descriptor": STATEMENT_DESCRIPTOR,
        "captured": charge.paid,
        "created": charge.created,
        "currency": charge.currency,
        "customer": null,
        "description": null,
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": charge.failure_code,
        "failure_message": charge.failure_message,
        "fraud_details": {},
        "livemode": false,
        "metadata": {},
        "on_behalf_of": null,
        "outcome": null,
        "paid": charge.paid,
        "payment_intent": charge.payment_intent,
        "payment_method": if charge.source.starts_with("pm_") { charge.source.clone() } else { charge.id.replacen("ch_", "card_", 1) },
        "receipt_email": null,
        "receipt_number": null,
        "receipt_url": null,
        "refunded": charge.refunded(),
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": status,
        "transfer_data": null,
        "transfer_group": null
    })
}

/// A refund object.
pub fn refund(refund: &RefundEntry) -> Value {
    json!({
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": refund.id.replacen("re_", "txn_", 1),
        "charge": refund.charge,
        "created": refund.created,
        "currency": refund.currency,
        "metadata": {},
        "payment_intent": refund.payment_intent,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null
    })
}

/// A payment intent object.
pub fn payment_intent(intent: &IntentEntry) -> Value {
    let next_action = intent.redirect_url.as_ref().map(|url| {
        json!({
            "type": "redirect_to_url",
            "redirect_to_url": { "url": url, "return_url": intent.return_url }
        })
    });
    let automatic_payment_methods = intent
        .automatic_payment_methods
        .then(|| json!({ "allow_redirects": "always", "enabled": true }));
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_details": null,
        "amount_received": intent.amount_received,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": automatic_payment_methods,
        "canceled_at": intent.canceled_at,
        "cancellation_reason": intent.cancellation_reason,
        "capture_method": "automatic_async",
        "client_secret": intent.client_secret,
        "confirmation_method": "automatic",
        "created": intent.created,
        "currency": intent.currency,
        "customer": null,
        "description": null,
        "last_payment_error": intent.last_payment_error.as_ref().map(payment_error),
        "latest_charge": intent.latest_charge,
        "livemode": false,
        "metadata": intent.metadata,
        "next_action": next_action,
        "on_behalf_of": null,
        "payment_method": intent.payment_method,
        "payment_method_configuration_details": null,
        "payment_method_options": null,
        "payment_method_types": ["card"],
        "processing": null,
        "receipt_email": null,
        "review": null,
        "setup_future_usage": null,
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": intent.status.as_str(),
        "transfer_data": null,
        "transfer_group": null
    })
}

/// An intent's `last_payment_error`.
fn payment_error(error: &PaymentError) -> Value {
    json!({
        "type": error.type_,
        "code": error.code,
        "decline_code": error.decline_code,
        "message": error.message,
        "charge": error.charge,
        "doc_url": doc_url(&error.code),
    })
}

/// An event about an intent, as a webhook delivers it.
pub fn event(id: &str, type_: IntentEvent, created: i64, intent: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": { "object": intent },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": type_.as_str()
    })
}

fn doc_url(code: &str) -> String {
    format!(
        "https://stripe.com/docs/error-codes/{}",
        code.replace('_', "-")
    )
}

/// How a test card is declined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decline {
    /// Stripe's error code, e.g. `card_declined`.
    pub(crate) code: &'static str,
    /// The issuer's reason, e.g. `insufficient_funds`.
    pub(crate) decline_code: &'static str,
    /// The message meant for the customer.
    pub(crate) message: &'static str,
}

impl Decline {
    /// The decline of Stripe's declining test token `token`, if it is one.
    pub(crate) fn for_token(token: &str) -> Option<Decline> {
        let (code, decline_code, message) = match token {
            "tok_chargeDeclined" => (
                "card_declined",
                "generic_decline",
                "Your card was declined.",
            ),
            "tok_chargeDeclinedInsufficientFunds" => (
                "card_declined",
                "insufficient_funds",
                "Your card has insufficient funds.",
            ),
            "tok_chargeDeclinedFraudulent" => {
                ("card_declined", "fraudulent", "Your card was declined.")
            }
            "tok_chargeDeclinedExpiredCard" => {
                ("expired_card", "expired_card", "Your card has expired.")
            }
            "tok_chargeDeclinedIncorrectCvc" => (
                "incorrect_cvc",
                "incorrect_cvc",
                "Your card's security code is incorrect.",
            ),
            "tok_chargeDeclinedProcessingError" => (
                "processing_error",
                "processing_error",
                "An error occurred while processing your card. Try again in a little bit.",
            ),
            _ => return None,
        };
        Some(Decline {
            code,
            decline_code,
            message,
        })
    }

    /// The decline of Stripe's declining test payment method `id` (`pm_card_chargeDeclined`,
    /// `pm_card_visa_chargeDeclinedInsufficientFunds`, ...), if it is one: the same as its
    /// token's.
    pub(crate) fn for_payment_method(id: &str) -> Option<Decline> {
        let name = id
            .strip_prefix("pm_card_visa_")
            .or_else(|| id.strip_prefix("pm_card_"))?;
        Decline::for_token(&format!("tok_{name}"))
    }
}

/// An error answer: its status and the `error` object.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    error: Value,
}

impl ApiError {
    /// `{"error": {...}}`.
    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.error })
    }

    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid(message: &str, code: Option<&str>, param: Option<&str>) -> ApiError {
        let mut error = json!({ "type": "invalid_request_error", "message": message });
        if let Some(code) = code {
            error["code"] = json!(code);
            error["doc_url"] = json!(doc_url(code));
        }
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        ApiError { status: 400, error }
    }

    /// A required parameter is missing.
    pub(crate) fn missing(param: &str) -> ApiError {
        ApiError::invalid(
            &format!("Missing required param: {param}."),
            Some("parameter_missing"),
            Some(param),
        )
    }

    /// No object `id` of this kind exists (404 for a path, 400 for a parameter).
    pub(crate) fn no_such(kind: &str, id: &str, param: &str) -> ApiError {
        let mut error = ApiError::invalid(
            &format!("No such {kind}: '{id}'"),
            Some("resource_missing"),
            Some(param),
        );
        if param == "id" {
            error.status = 404;
        }
        error
    }

    /// The key was first used with other parameters.
    pub(crate) fn idempotency_mismatch(key: &str) -> ApiError {
        ApiError {
            status: 400,
            error: json!({
                "type": "idempotency_error",
                "message": format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                ),
            }),
        }
    }

    /// A 402 `card_error` for the declined charge `charge_id`, made for `payment_intent` if
    /// it is given (Stripe then carries the intent in the error).
    pub(crate) fn card(
        decline: &Decline,
        charge_id: &str,
        payment_intent: Option<Value>,
    ) -> ApiError {
        let mut error = json!({
            "type": "card_error",
            "code": decline.code,
            "decline_code": decline.decline_code,
            "message": decline.message,
            "charge": charge_id,
            "doc_url": doc_url(decline.code),
        });
        if let Some(payment_intent) = payment_intent {
            error["payment_intent"] = payment_intent;
        }
        ApiError { status: 402, error }
    }

    /// A 400 `payment_intent_unexpected_state`: the intent cannot do that in its state.
    pub(crate) fn unexpected_state(message: &str, payment_intent: Value) -> ApiError {
        let mut error = ApiError::invalid(message, Some("payment_intent_unexpected_state"), None);
        error.error["payment_intent"] = payment_intent;
        error
    }

    /// A 401: no API key.
    pub(crate) fn no_api_key() -> ApiError {
        ApiError {
            status: 401,
            error: json!({
                "type": "invalid_request_error",
                "message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            }),
        }
    }

    /// A 404 for a path the fake does not serve.
    pub(crate) fn unrecognized(method: &str, path: &str) -> ApiError {
        ApiError {
            status: 404,
            error: json!({
                "type": "invalid_request_error",
                "message": format!("Unrecognized request URL ({method}: {path})."),
            }),
        }
    }
}
