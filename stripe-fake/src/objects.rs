//! Stripe's JSON: charge and refund objects, and the error envelope
//! `{"error":{"type","code","message","param"?,...}}`.
//!
//! Objects carry every field `async-stripe` requires to deserialize them; optional ones that
//! mean nothing here are `null`.

use serde_json::{Value, json};

use crate::entries::{ChargeEntry, RefundEntry};

/// Shown on the customer's statement.
const STATEMENT_DESCRIPTOR: &str = "TICKETING";

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
        "payment_intent": null,
        "payment_method": charge.id.replacen("ch_", "card_", 1),
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
        "payment_intent": null,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null
    })
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
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
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

    /// A 402 `card_error` for the declined charge `charge_id`.
    pub(crate) fn card(decline: &Decline, charge_id: &str) -> ApiError {
        ApiError {
            status: 402,
            error: json!({
                "type": "card_error",
                "code": decline.code,
                "decline_code": decline.decline_code,
                "message": decline.message,
                "charge": charge_id,
                "doc_url": format!(
                    "https://stripe.com/docs/error-codes/{}",
                    decline.code.replace('_', "-")
                ),
            }),
        }
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
