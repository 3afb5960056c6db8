//! The intent's life through `async-stripe`: created, read, confirmed, declined, sent to 3-D
//! Secure, cancelled, refunded; idempotency keys as Stripe's.

use stripe::{ApiErrorsCode, ApiErrorsType, StripeError, StripeRequest};
use stripe_core::PaymentIntentStatus;
use stripe_core::payment_intent::{
    CancelPaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_fake::{IntentStatus, StripeFake};
use stripe_types::{Currency, Expandable};

use crate::helpers::{client, create_intent, idempotent, stripe_error};

async fn confirm(
    client: &stripe::Client,
    id: &stripe_core::PaymentIntentId,
    payment_method: &str,
) -> Result<stripe_core::PaymentIntent, StripeError> {
    ConfirmPaymentIntent::new(id.clone())
        .payment_method(payment_method)
        .return_url("http://shop.test/orders/o1?paid=1")
        .send(client)
        .await
}

async fn refund_intent(
    client: &stripe::Client,
    id: &stripe_core::PaymentIntentId,
    key: &str,
) -> Result<stripe_core::Refund, StripeError> {
    CreateRefund::new()
        .payment_intent(id.as_str())
        .customize()
        .request_strategy(idempotent(key))
        .send(client)
        .await
}

#[tokio::test]
async fn an_intent_is_created_read_paid_and_refunded_once() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let intent = create_intent(&client, "o1", "create-o1").await.unwrap();
    assert!(intent.id.as_str().starts_with("pi_"));
    let secret = intent.client_secret.clone().unwrap();
    assert!(secret.starts_with(&format!("{}_secret_", intent.id)));
    assert_eq!(intent.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!((intent.amount, intent.currency), (2000, Currency::USD));
    assert_eq!(intent.metadata["orderId"], "o1");
    assert!(intent.automatic_payment_methods.unwrap().enabled);

    let read = RetrievePaymentIntent::new(intent.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(read.client_secret.as_deref(), Some(secret.as_str()));

    let paid = confirm(&client, &intent.id, "pm_card_visa").await.unwrap();
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
    assert_eq!(paid.amount_received, 2000);
    let Some(Expandable::Id(charge_id)) = paid.latest_charge.clone() else {
        panic!("no latest charge: {:?}", paid.latest_charge);
    };

    let first = refund_intent(&client, &intent.id, "refund-o1")
        .await
        .unwrap();
    let retried = refund_intent(&client, &intent.id, "refund-o1")
        .await
        .unwrap();
    assert_eq!(first.id, retried.id);
    assert_eq!(first.amount, 2000);
    assert!(matches!(&first.payment_intent, Some(Expandable::Id(id)) if *id == intent.id));
    let (error, status) = stripe_error(
        refund_intent(&client, &intent.id, "refund-o1-again")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert_eq!(error.code, Some(ApiErrorsCode::ChargeAlreadyRefunded));

    let books = fake.ledger().snapshot();
    let entry = books.intent(intent.id.as_str()).unwrap();
    assert_eq!(entry.status, IntentStatus::Succeeded);
    assert_eq!(entry.idempotency_key.as_deref(), Some("create-o1"));
    assert_eq!(entry.latest_charge.as_deref(), Some(charge_id.as_str()));
    let charge = &books.paid_charges()[0];
    assert_eq!(charge.payment_intent.as_deref(), Some(intent.id.as_str()));
    assert_eq!(books.refunds_of(charge_id.as_str()).len(), 1);
    assert!(books.kept_charges().is_empty());
}

#[tokio::test]
async fn the_same_key_replays_the_intent_and_other_parameters_are_refused() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let first = create_intent(&client, "o1", "same").await.unwrap();
    let replayed = create_intent(&client, "o1", "same").await.unwrap();
    assert_eq!(first.id, replayed.id);
    assert_eq!(first.client_secret, replayed.client_secret);
    let (error, status) = stripe_error(create_intent(&client, "o2", "same").await.unwrap_err());
    assert_eq!(
        (status, error.type_),
        (400, ApiErrorsType::IdempotencyError)
    );
    assert_eq!(fake.ledger().snapshot().intents.len(), 1);
}

#[tokio::test]
async fn a_decline_is_a_card_error_and_the_intent_waits_for_another_card() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let intent = create_intent(&client, "o1", "c").await.unwrap();
    let (error, status) = stripe_error(
        confirm(&client, &intent.id, "pm_card_chargeDeclined")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 402);
    assert_eq!(error.type_, ApiErrorsType::CardError);
    assert_eq!(error.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(error.message.as_deref(), Some("Your card was declined."));
    let in_error = error.payment_intent.unwrap();
    assert_eq!(in_error.id, intent.id);
    assert_eq!(in_error.status, PaymentIntentStatus::RequiresPaymentMethod);

    let read = RetrievePaymentIntent::new(intent.id.clone())
        .send(&client)
        .await
        .unwrap();
    let last = read.last_payment_error.unwrap();
    assert_eq!(last.code, Some(ApiErrorsCode::CardDeclined));
    let (error, _) = stripe_error(
        confirm(
            &client,
            &intent.id,
            "pm_card_visa_chargeDeclinedInsufficientFunds",
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(error.decline_code.as_deref(), Some("insufficient_funds"));
    assert!(fake.ledger().snapshot().paid_charges().is_empty());

    let (error, status) = stripe_error(refund_intent(&client, &intent.id, "r").await.unwrap_err());
    assert_eq!(
        (status, error.code),
        (400, Some(ApiErrorsCode::ChargeNotRefundable))
    );

    let paid = confirm(&client, &intent.id, "pm_card_mastercard")
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);
    assert!(paid.last_payment_error.is_none());
}

#[tokio::test]
async fn a_card_needing_3ds_redirects_to_the_fakes_page() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let intent = create_intent(&client, "o1", "c").await.unwrap();
    let pending = confirm(&client, &intent.id, "pm_card_authenticationRequired")
        .await
        .unwrap();
    assert_eq!(pending.status, PaymentIntentStatus::RequiresAction);
    let next = pending.next_action.unwrap();
    assert_eq!(next.type_, "redirect_to_url");
    let redirect = next.redirect_to_url.unwrap();
    assert_eq!(
        redirect.url.as_deref(),
        Some(
            format!(
                "{}/__3ds/{}?return_url=http%3A%2F%2Fshop.test%2Forders%2Fo1%3Fpaid%3D1",
                fake.base_url(),
                intent.id
            )
            .as_str()
        )
    );
    assert_eq!(
        redirect.return_url.as_deref(),
        Some("http://shop.test/orders/o1?paid=1")
    );
    assert!(fake.ledger().snapshot().charges.is_empty());

    let cancelled = CancelPaymentIntent::new(intent.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(cancelled.status, PaymentIntentStatus::Canceled);
    assert!(cancelled.next_action.is_none() && cancelled.canceled_at.is_some());
    let (error, status) = stripe_error(
        confirm(&client, &intent.id, "pm_card_visa")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (400, Some(ApiErrorsCode::PaymentIntentUnexpectedState))
    );
}

#[tokio::test]
async fn a_paid_intent_can_be_neither_cancelled_nor_confirmed_again() {
    let fake = StripeFake::start().await.unwrap();
    let client = client(&fake);
    let intent = CreatePaymentIntent::new(5000, Currency::USD)
        .payment_method("pm_card_visa")
        .confirm(true)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(intent.status, PaymentIntentStatus::Succeeded);

    let (error, status) = stripe_error(
        CancelPaymentIntent::new(intent.id.clone())
            .send(&client)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (400, Some(ApiErrorsCode::PaymentIntentUnexpectedState))
    );
    assert!(
        error.message.unwrap().starts_with(
            "You cannot cancel this PaymentIntent because it has a status of succeeded."
        )
    );
    assert_eq!(error.payment_intent.unwrap().id, intent.id);
    let (error, _) = stripe_error(
        confirm(&client, &intent.id, "pm_card_visa")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        error.code,
        Some(ApiErrorsCode::PaymentIntentUnexpectedState)
    );
    assert_eq!(fake.ledger().snapshot().paid_charges().len(), 1);
}

#[tokio::test]
async fn the_rust_helper_confirms_as_the_endpoint_does() {
    let fake = StripeFake::start().await.unwrap();
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    let declined = fake.confirm_intent(intent.id.as_str(), "pm_card_chargeDeclined");
    assert_eq!(declined.status, 402);
    let paid = fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    assert_eq!(
        (paid.status, &paid.body["status"]),
        (200, &serde_json::json!("succeeded"))
    );
    let books = fake.ledger().snapshot();
    assert_eq!(
        books.intents_with_metadata("orderId", "o1")[0].id,
        intent.id.as_str()
    );
    assert_eq!(books.charges.len(), 2);
}
