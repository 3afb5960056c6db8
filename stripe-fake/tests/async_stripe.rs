//! The fake as the real `async-stripe` client sees it: its objects deserialize, its errors are
//! Stripe errors, and idempotency keys behave as Stripe's do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stripe::{
    ApiErrorsCode, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeError, StripeRequest,
};
use stripe_core::charge::{CreateCharge, RetrieveCharge};
use stripe_core::refund::CreateRefund;
use stripe_fake::{LedgerSnapshot, StripeFake};
use stripe_types::Currency;

fn client(fake: &StripeFake) -> stripe::Client {
    stripe::ClientBuilder::new("sk_test_fake")
        .url(format!("{}/", fake.base_url()))
        .build()
        .unwrap()
}

fn idempotent(key: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(key).unwrap())
}

async fn charge(
    client: &stripe::Client,
    token: &str,
    amount: i64,
    key: &str,
) -> Result<stripe_core::Charge, StripeError> {
    CreateCharge::new()
        .amount(amount)
        .currency(Currency::USD)
        .source(token)
        .customize()
        .request_strategy(idempotent(key))
        .send(client)
        .await
}

async fn refund(
    client: &stripe::Client,
    charge_id: &str,
    key: &str,
) -> Result<stripe_core::Refund, StripeError> {
    CreateRefund::new()
        .charge(charge_id)
        .customize()
        .request_strategy(idempotent(key))
        .send(client)
        .await
}

#[tokio::test]
async fn a_test_card_is_charged_and_the_charge_reads_back() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let charge = charge(&client, "tok_visa", 1999, "order-1").await.unwrap();
    assert!(charge.id.as_str().starts_with("ch_"));
    assert_eq!((charge.amount, charge.currency), (1999, Currency::USD));
    assert!(charge.paid && !charge.refunded);

    let read = RetrieveCharge::new(charge.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(read.id, charge.id);

    let books = fake.ledger().snapshot();
    assert_eq!(books.charges.len(), 1);
    assert_eq!(books.charges[0].source, "tok_visa");
    assert_eq!(books.charges[0].idempotency_key.as_deref(), Some("order-1"));
}

#[tokio::test]
async fn a_declined_card_is_a_card_error_with_a_message() {
    let fake = StripeFake::start().await.unwrap();
    let error = charge(&client(&fake), "tok_chargeDeclined", 2000, "k")
        .await
        .unwrap_err();
    let (error, status) = match error {
        StripeError::Stripe(error, status) => (error, status),
        other => panic!("not a Stripe error: {other:?}"),
    };
    assert_eq!(status, 402);
    assert_eq!(error.type_, ApiErrorsType::CardError);
    assert_eq!(error.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(error.message.as_deref(), Some("Your card was declined."));
    assert!(fake.ledger().snapshot().paid_charges().is_empty());
}

#[tokio::test]
async fn an_unknown_token_is_an_invalid_request() {
    let fake = StripeFake::start().await.unwrap();
    let error = charge(&client(&fake), "tok_nonsense", 2000, "k")
        .await
        .unwrap_err();
    let (error, status) = match error {
        StripeError::Stripe(error, status) => (error, status),
        other => panic!("not a Stripe error: {other:?}"),
    };
    assert_eq!(
        (status, error.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert!(fake.ledger().snapshot().charges.is_empty());
}

#[tokio::test]
async fn the_same_key_replays_and_another_key_charges_again() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let first = charge(&client, "tok_visa", 2000, "same").await.unwrap();
    let replayed = charge(&client, "tok_visa", 2000, "same").await.unwrap();
    assert_eq!(first.id, replayed.id);
    let mismatch = charge(&client, "tok_visa", 2500, "same").await.unwrap_err();
    assert!(
        matches!(&mismatch, StripeError::Stripe(error, 400) if error.type_ == ApiErrorsType::IdempotencyError),
        "{mismatch:?}"
    );
    let other = charge(&client, "tok_visa", 2000, "other").await.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(fake.ledger().snapshot().paid_charges().len(), 2);
}

#[tokio::test]
async fn a_charge_is_refunded_once_whatever_the_retries() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let charge = charge(&client, "tok_mastercard", 2000, "c").await.unwrap();
    let first = refund(&client, charge.id.as_str(), "r").await.unwrap();
    let retried = refund(&client, charge.id.as_str(), "r").await.unwrap();
    assert_eq!(first.id, retried.id);
    assert_eq!(first.amount, 2000);

    let error = refund(&client, charge.id.as_str(), "another")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StripeError::Stripe(error, 400) if error.code == Some(ApiErrorsCode::ChargeAlreadyRefunded)),
        "{error:?}"
    );
    let books = fake.ledger().snapshot();
    assert_eq!(books.refunds_of(charge.id.as_str()).len(), 1);
    assert!(books.kept_charges().is_empty());
}

#[tokio::test]
async fn the_ledger_and_the_api_key_check_are_served_over_http() {
    let fake = StripeFake::start().await.unwrap();
    charge(&client(&fake), "tok_visa", 5000, "k").await.unwrap();
    let http = reqwest::Client::new();
    let books: LedgerSnapshot = http
        .get(format!("{}/__ledger", fake.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(books.charges.len(), 1);
    assert_eq!(books.charges[0].amount, 5000);

    let anonymous = http
        .post(format!("{}/v1/charges", fake.base_url()))
        .form(&[
            ("amount", "2000"),
            ("currency", "usd"),
            ("source", "tok_visa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let unknown = http
        .get(format!("{}/v1/customers", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}
