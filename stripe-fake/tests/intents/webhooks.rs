//! Webhooks as an endpoint sees them: signed so `async-stripe-webhook` accepts them, in order,
//! retried until a 2xx, held back while paused, sent again on request.

use std::time::Duration;

use stripe_fake::{DeliveryError, EventEntry, IntentEvent, StripeFake};
use stripe_webhook::{EventObject, Webhook};

use crate::helpers::{Endpoint, SECRET, client, create_intent, fake_with_webhooks};

/// The event in `delivery`, checked as the payments service checks it.
fn verified(delivery: &crate::helpers::Delivery) -> stripe_webhook::Event {
    Webhook::construct_event(&delivery.payload, &delivery.signature, SECRET)
        .unwrap_or_else(|error| panic!("{error:?}: {}", delivery.payload))
}

#[tokio::test]
async fn a_payment_is_told_with_a_signed_event_the_webhook_crate_accepts() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    assert_eq!(
        fake.confirm_intent(intent.id.as_str(), "pm_card_visa")
            .status,
        200
    );

    let delivery = endpoint.next().await;
    let event = verified(&delivery);
    assert_eq!(event.type_.as_str(), "payment_intent.succeeded");
    let EventObject::PaymentIntentSucceeded(paid) = event.data.object else {
        panic!("not a payment_intent.succeeded: {}", delivery.payload);
    };
    assert_eq!(paid.id, intent.id);
    assert_eq!(paid.metadata["orderId"], "o1");
    assert_eq!(paid.amount_received, 2000);
    assert!(
        Webhook::construct_event(&delivery.payload, &delivery.signature, "whsec_other").is_err()
    );

    let events = wait_until_delivered(&fake, 1).await;
    assert_eq!(events[0].type_, IntentEvent::Succeeded);
    assert_eq!(events[0].payment_intent, intent.id.as_str());
    assert_eq!((events[0].attempts, events[0].last_status), (1, Some(200)));
}

#[tokio::test]
async fn events_of_an_intent_come_in_order_and_failures_are_told_too() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    let id = intent.id.as_str();
    fake.confirm_intent(id, "pm_card_chargeDeclined");
    fake.confirm_intent(id, "pm_card_authenticationRequired");
    fake.confirm_intent(id, "pm_card_visa");
    let mut types = Vec::new();
    for _ in 0..3 {
        let event = verified(&endpoint.next().await);
        if let EventObject::PaymentIntentPaymentFailed(failed) = &event.data.object {
            assert!(failed.last_payment_error.is_some());
        }
        types.push(event.type_.as_str().to_owned());
    }
    assert_eq!(
        types,
        [
            "payment_intent.payment_failed",
            "payment_intent.requires_action",
            "payment_intent.succeeded"
        ]
    );
}

#[tokio::test]
async fn a_failing_endpoint_gets_the_event_again_until_it_answers_2xx() {
    let mut endpoint = Endpoint::start(&[500, 500]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    let first = endpoint.next().await;
    let second = endpoint.next().await;
    let third = endpoint.next().await;
    for delivery in [&first, &second, &third] {
        assert_eq!(delivery.payload, first.payload);
        verified(delivery);
    }
    assert!(endpoint.stays_quiet(Duration::from_secs(2)).await);
    let events = wait_until_delivered(&fake, 1).await;
    assert_eq!((events[0].attempts, events[0].last_status), (3, Some(200)));
}

#[tokio::test]
async fn paused_webhooks_wait_and_resuming_delivers_them() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    fake.pause_webhooks();
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    assert!(endpoint.stays_quiet(Duration::from_secs(1)).await);
    let events = fake.events();
    assert_eq!(events.len(), 1);
    assert!(!events[0].delivered && events[0].attempts == 0);

    fake.resume_webhooks();
    let event = verified(&endpoint.next().await);
    assert_eq!(event.id.as_str(), events[0].id);
    wait_until_delivered(&fake, 1).await;
}

#[tokio::test]
async fn webhooks_are_paused_and_resumed_over_http_too() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let http = reqwest::Client::new();
    let hook = |action: &str| format!("{}/__webhooks/{action}", fake.base_url());
    let paused = http.post(hook("pause")).send().await.unwrap();
    assert_eq!(paused.status(), 204);
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    assert!(endpoint.stays_quiet(Duration::from_secs(1)).await);

    let resumed = http.post(hook("resume")).send().await.unwrap();
    assert_eq!(resumed.status(), 204);
    verified(&endpoint.next().await);
    wait_until_delivered(&fake, 1).await;
}

#[tokio::test]
async fn an_event_is_sent_again_on_request() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    let original = endpoint.next().await;
    let events = wait_until_delivered(&fake, 1).await;

    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!(
            "{}/__events/{}/deliver",
            fake.base_url(),
            events[0].id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], 200);
    let again = endpoint.next().await;
    assert_eq!(again.payload, original.payload);
    verified(&again);

    assert_eq!(fake.deliver(&events[0].id).await, Ok(200));
    endpoint.next().await;
    assert_eq!(
        fake.deliver("evt_nope").await,
        Err(DeliveryError::UnknownEvent)
    );
    let listed: Vec<EventEntry> = http
        .get(format!("{}/__events", fake.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0].attempts, 3);
    assert_eq!(
        listed[0].payload["data"]["object"]["id"],
        intent.id.as_str()
    );
}

#[tokio::test]
async fn a_fake_without_an_endpoint_records_events_and_sends_none() {
    let fake = StripeFake::start().await.unwrap();
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    fake.confirm_intent(intent.id.as_str(), "pm_card_visa");
    let events = fake.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        fake.deliver(&events[0].id).await,
        Err(DeliveryError::NoWebhookTarget)
    );
}

/// The events, once `count` of them are delivered (within 10 seconds).
async fn wait_until_delivered(fake: &StripeFake, count: usize) -> Vec<EventEntry> {
    for _ in 0..200 {
        let events = fake.events();
        if events.iter().filter(|event| event.delivered).count() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not delivered: {:?}", fake.events());
}
