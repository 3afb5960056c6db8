//! What exactly is sent to Stripe, and what Stripe's failures become (wiremock as Stripe).

use payments::models::{AttemptState, charge_key};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    STRIPE_KEY, assert_added, assert_message, charge_json, form_pairs, oid, requests_to,
    spawn_app_with_mock, stripe_answers, stripe_error,
};

#[tokio::test]
async fn charges_the_rounded_amount_in_usd_with_the_token_and_an_idempotency_key() {
    let app = spawn_app_with_mock().await;
    let mock = app.backing.mock();
    stripe_answers(
        mock,
        "/v1/charges",
        200,
        charge_json("ch_mock1", 1999),
        None,
    )
    .await;
    let placed = app.place_order(19.99).await;

    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(response.status().as_u16(), 201);

    let requests = requests_to(mock, "/v1/charges").await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        form_pairs(&request.body),
        ["amount=1999", "currency=usd", "source=tok_visa"]
    );
    let key = request.headers["idempotency-key"].to_str().unwrap();
    assert_eq!(key, charge_key(oid(&placed.id), "tok_visa"));
    assert!(key.starts_with(&format!("charge-{}-", placed.id)));
    assert_eq!(
        request.headers["authorization"].to_str().unwrap(),
        format!("Bearer {STRIPE_KEY}")
    );
    let payment = app.backing.payment_of(&placed.id).await.unwrap();
    assert_eq!(payment.stripe_id, "ch_mock1");
}

#[tokio::test]
async fn a_card_error_answers_stripes_message_and_another_card_gets_another_key() {
    let app = spawn_app_with_mock().await;
    let placed = app.place_order(20.0).await;
    let declined_key = charge_key(oid(&placed.id), "tok_chargeDeclinedInsufficientFunds");
    Mock::given(method("POST"))
        .and(path("/v1/charges"))
        .and(wiremock::matchers::header(
            "idempotency-key",
            declined_key.as_str(),
        ))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds."
            }
        })))
        .mount(app.backing.mock())
        .await;
    stripe_answers(
        app.backing.mock(),
        "/v1/charges",
        200,
        charge_json("ch_good", 2000),
        None,
    )
    .await;

    let response = app
        .pay(
            &placed.cookie,
            &placed.id,
            "tok_chargeDeclinedInsufficientFunds",
        )
        .await;
    assert_message(response, 400, "Your card has insufficient funds.").await;
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    let attempts = app.backing.attempts_for(&placed.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Declined);
    assert_eq!(
        attempts[0].token, None,
        "a settled attempt forgets its token"
    );

    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(response.status().as_u16(), 201);
    let keys: Vec<String> = requests_to(app.backing.mock(), "/v1/charges")
        .await
        .iter()
        .map(|request| {
            request.headers["idempotency-key"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    assert_eq!(
        app.backing.payment_of(&placed.id).await.unwrap().stripe_id,
        "ch_good"
    );
}

#[tokio::test]
async fn stripe_failing_is_a_server_error_and_records_no_payment() {
    let app = spawn_app_with_mock().await;
    let failure = stripe_error("api_error", "An unknown error occurred");
    stripe_answers(app.backing.mock(), "/v1/charges", 500, failure, None).await;
    let placed = app.place_order(20.0).await;

    let before = app.metrics().await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 500, "Something went wrong").await;
    let after = app.metrics().await;
    let charge_create = [r#"operation="charge_create""#];
    assert_added(&before, &after, "stripe_errors_total", &charge_create, 1.0);
    let timed = "stripe_request_duration_seconds_count";
    assert_added(&before, &after, timed, &charge_create, 1.0);
    for outcome in ["succeeded", "declined", "refunded"] {
        let family = format!("payments_{outcome}_total");
        assert_added(&before, &after, &family, &[], 0.0);
    }
    assert_eq!(
        requests_to(app.backing.mock(), "/v1/charges").await.len(),
        1
    );
    assert!(app.backing.payment_of(&placed.id).await.is_none());
    // Whether the card was charged is unknown: the attempt waits for the reconciler.
    let attempts = app.backing.attempts_for(&placed.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Pending);
    assert_eq!(attempts[0].token.as_deref(), Some("tok_visa"));
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_server_error() {
    let backing = crate::helpers::Backing::with_mock().await;
    let mut config = backing.config();
    // Nothing listens on port 9 of the loopback interface.
    config.stripe.api_base = Some("http://127.0.0.1:9".to_owned());
    let app = backing.spawn_with(config).await;
    let placed = app.place_order(20.0).await;
    let before = app.metrics().await;
    let response = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_message(response, 500, "Something went wrong").await;
    let charge_create = [r#"operation="charge_create""#];
    let after = app.metrics().await;
    assert_added(&before, &after, "stripe_errors_total", &charge_create, 1.0);
    assert!(app.backing.payment_of(&placed.id).await.is_none());
}
