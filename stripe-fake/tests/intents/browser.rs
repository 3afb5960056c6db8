//! The browser's side: the 3-D Secure page, the publishable-key calls Stripe.js makes (with
//! CORS), and the stand-in script itself.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::Value;
use stripe_fake::{IntentStatus, StripeFake};
use stripe_webhook::Webhook;

use crate::helpers::{Endpoint, SECRET, client, create_intent, fake_with_webhooks};

/// A browser-like client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Confirms `intent` as Stripe.js does: with the publishable key and `client_secret`, no
/// secret key.
async fn confirm_in_browser(
    fake: &StripeFake,
    intent: &str,
    client_secret: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("key", "pk_test_fake"), ("client_secret", client_secret)];
    form.extend_from_slice(params);
    browser()
        .post(format!(
            "{}/v1/payment_intents/{intent}/confirm",
            fake.base_url()
        ))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_3ds_page_completes_and_sends_the_customer_back_to_the_shop() {
    let mut endpoint = Endpoint::start(&[]).await;
    let fake = fake_with_webhooks(&endpoint).await;
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    let secret = intent.client_secret.clone().unwrap();
    let browser = browser();
    let pending: Value = confirm_in_browser(
        &fake,
        intent.id.as_str(),
        &secret,
        &[
            ("payment_method", "pm_card_authenticationRequired"),
            ("return_url", "http://shop.test/orders/o1?from=pay"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(pending["status"], "requires_action");
    let page_url = pending["next_action"]["redirect_to_url"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let told = endpoint.next().await;
    let requires_action = Webhook::construct_event(&told.payload, &told.signature, SECRET).unwrap();
    assert_eq!(
        requires_action.type_.as_str(),
        "payment_intent.requires_action"
    );

    let page = browser.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Test 3-D Secure authentication"), "{html}");
    assert!(
        html.contains(r#"<button id="complete-authentication" name="outcome" value="complete""#)
    );
    assert!(html.contains(r#"<button id="fail-authentication" name="outcome" value="fail""#));
    assert!(html.contains(&format!(r#"action="/__3ds/{}""#, intent.id)));

    let answer = browser
        .post(format!("{}/__3ds/{}", fake.base_url(), intent.id))
        .form(&[("outcome", "complete")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"].to_str().unwrap(),
        format!(
            "http://shop.test/orders/o1?from=pay&payment_intent={}&payment_intent_client_secret={secret}&redirect_status=succeeded",
            intent.id
        )
    );
    let books = fake.ledger().snapshot();
    assert_eq!(
        books.intent(intent.id.as_str()).unwrap().status,
        IntentStatus::Succeeded
    );
    assert_eq!(books.paid_charges().len(), 1);
    let succeeded = endpoint.next().await;
    let event = Webhook::construct_event(&succeeded.payload, &succeeded.signature, SECRET).unwrap();
    assert_eq!(event.type_.as_str(), "payment_intent.succeeded");

    let again = browser
        .post(format!("{}/__3ds/{}", fake.base_url(), intent.id))
        .form(&[("outcome", "fail")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_failed_3ds_sends_the_customer_back_with_failed() {
    let fake = StripeFake::start().await.unwrap();
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    let pending = fake.confirm_intent(intent.id.as_str(), "pm_card_threeDSecure2Required");
    assert_eq!(pending.body["status"], "requires_action");
    let answer = browser()
        .post(format!("{}/__3ds/{}", fake.base_url(), intent.id))
        .form(&[("outcome", "fail")])
        .send()
        .await
        .unwrap();
    // Confirmed without a return URL: the page says so instead of redirecting.
    assert_eq!(answer.status(), StatusCode::OK);
    let books = fake.ledger().snapshot();
    let entry = books.intent(intent.id.as_str()).unwrap();
    assert_eq!(entry.status, IntentStatus::RequiresPaymentMethod);
    assert_eq!(
        entry.last_payment_error.as_ref().unwrap().code,
        "payment_intent_authentication_failure"
    );
    assert!(books.charges.is_empty());
}

#[tokio::test]
async fn a_browser_needs_the_intents_client_secret_and_gets_cors_headers() {
    let fake = StripeFake::start().await.unwrap();
    let intent = create_intent(&client(&fake), "o1", "c").await.unwrap();
    let other = create_intent(&client(&fake), "o2", "d").await.unwrap();
    let secret = intent.client_secret.clone().unwrap();
    let url = format!("{}/v1/payment_intents/{}", fake.base_url(), intent.id);
    let browser = browser();

    let read = browser
        .get(&url)
        .query(&[("key", "pk_test_fake"), ("client_secret", secret.as_str())])
        .header("origin", "http://shop.test")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["access-control-allow-origin"], "*");
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["id"], intent.id.as_str());

    let wrong = confirm_in_browser(
        &fake,
        intent.id.as_str(),
        other.client_secret.as_deref().unwrap(),
        &[("payment_method", "pm_card_visa")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.headers()["access-control-allow-origin"], "*");
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"]["type"], "invalid_request_error");
    assert_eq!(wrong["error"]["param"], "client_secret");

    let without_key = browser
        .post(format!("{url}/confirm"))
        .form(&[
            ("client_secret", secret.as_str()),
            ("payment_method", "pm_card_visa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(without_key.status(), StatusCode::UNAUTHORIZED);
    let secret_key_route = browser
        .post(format!("{url}/cancel"))
        .form(&[("key", "pk_test_fake"), ("client_secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(secret_key_route.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        fake.ledger()
            .snapshot()
            .intent(intent.id.as_str())
            .unwrap()
            .status,
        IntentStatus::RequiresPaymentMethod
    );

    let preflight = browser
        .request(reqwest::Method::OPTIONS, format!("{url}/confirm"))
        .header("origin", "http://shop.test")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "content-type"
    );

    let paid: Value = confirm_in_browser(
        &fake,
        intent.id.as_str(),
        &secret,
        &[("payment_method", "pm_card_visa")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(paid["status"], "succeeded");
}

#[tokio::test]
async fn the_stand_in_stripe_js_is_served_as_javascript() {
    let fake = StripeFake::start().await.unwrap();
    for path in ["/v3/", "/v3/stripe.js"] {
        let answer = reqwest::get(format!("{}{path}", fake.base_url()))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], "application/javascript");
        let script = answer.text().await.unwrap();
        for name in [
            "confirmPayment",
            "retrievePaymentIntent",
            "stand-in-card",
            "pm_card_authenticationRequired",
            "document.currentScript",
        ] {
            assert!(script.contains(name), "{name} missing");
        }
    }
}
