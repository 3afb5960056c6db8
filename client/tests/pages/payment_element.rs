//! The order page with `STRIPE_PUBLISHABLE_KEY`: the Payment Element's mount point, Stripe.js
//! from `STRIPE_JS_URL` and our payment script, the `data-` attributes the script reads, the
//! Content-Security-Policy for Stripe's script and for a stand-in, the page Stripe.js comes
//! back to after 3-D Secure, and the script itself. Without a key, nothing of it.
//!
//! No browser runs here: what the script does with Stripe.js is the browser test's part.

use reqwest::Url;
use scraper::Html;

use crate::helpers::{
    Options, Platform, alert_messages, assert_see_other, attribute, html_of, spawn_platform,
    spawn_platform_with, texts,
};
use crate::orders::bought;

/// The policy with Stripe's own Stripe.js.
const STRIPE_POLICY: &str = "default-src 'self'; script-src 'self' https://js.stripe.com; \
     frame-src https://js.stripe.com https://hooks.stripe.com; \
     connect-src 'self' https://api.stripe.com; img-src 'self' data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy with the local stack's stand-in at `http://127.0.0.1:12111/v3/`.
const STAND_IN_POLICY: &str = "default-src 'self'; script-src 'self' http://127.0.0.1:12111; \
     frame-src http://127.0.0.1:12111; connect-src 'self' http://127.0.0.1:12111; \
     img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy without a key.
const SELF_ONLY_POLICY: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

const FORM: &str = "form[data-payment-element]";

async fn spawn_with_key(stripe_js_url: Option<&str>) -> Platform {
    let mut options = Options {
        stripe_key: Some("pk_test_123".into()),
        ..Options::default()
    };
    if let Some(url) = stripe_js_url {
        options.stripe_js_url = Url::parse(url).unwrap();
    }
    spawn_platform_with(options).await
}

/// `GET path` as `cookie`'s user, which must be 200: its policy and its HTML.
async fn policy_and_page(platform: &Platform, path: &str, cookie: &str) -> (String, Html) {
    let response = platform.get(path, Some(cookie)).await;
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    (policy, html_of(response).await)
}

/// The `src` of every script, in order.
fn scripts(page: &Html) -> Vec<String> {
    let selector = scraper::Selector::parse("script[src]").unwrap();
    page.select(&selector)
        .filter_map(|script| script.value().attr("src"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn with_a_stripe_key_the_order_page_mounts_the_payment_element() {
    let platform = spawn_with_key(None).await;
    let (buyer, _, order_id) = bought(&platform).await;
    let (policy, page) = policy_and_page(&platform, &format!("/orders/{order_id}"), &buyer).await;

    assert_eq!(policy, STRIPE_POLICY);
    // Stripe.js first: deferred scripts run in order, so ours finds `Stripe` defined.
    let scripts = scripts(&page);
    let [app, stripe, payment] = &scripts[..] else {
        panic!("three scripts expected: {scripts:?}");
    };
    assert!(app.starts_with("/static/app.js?v="), "{app}");
    assert_eq!(stripe, "https://js.stripe.com/v3/");
    assert!(payment.starts_with("/static/payment.js?v="), "{payment}");

    let data = |name: &str| attribute(&page, FORM, name);
    assert_eq!(data("data-stripe-key").unwrap(), "pk_test_123");
    assert_eq!(data("data-order-id").unwrap(), order_id);
    assert_eq!(data("data-intents-url").unwrap(), "/api/payments/intents");
    assert_eq!(
        data("data-order-url").unwrap(),
        format!("/api/orders/{order_id}")
    );
    assert_eq!(
        data("data-return-url").unwrap(),
        format!("/orders/{order_id}")
    );
    assert_eq!(data("data-done-url").unwrap(), "/orders");
    assert!(data("data-completing").is_none() && data("hidden").is_none());
    assert_eq!(data("id").unwrap(), "payment-form");

    let mount_point = format!("{FORM} #payment-element");
    assert!(attribute(&page, &mount_point, "id").is_some());
    // Enabled by the script once the element is ready.
    let button = format!("{FORM} button[type=submit]");
    assert_eq!(texts(&page, &button), ["Pay 12.50"]);
    assert!(attribute(&page, &button, "disabled").is_some());
    // No card token, and nothing posted to the client.
    assert!(texts(&page, "form[data-pay-form]").is_empty());
    assert!(attribute(&page, "input[name=token]", "value").is_none());
    assert!(attribute(&page, FORM, "action").is_none());

    // The places the script writes to: the alert (empty) and the waiting message (hidden).
    assert!(attribute(&page, "[data-alerts]", "data-alerts").is_some());
    assert!(alert_messages(&page).is_empty());
    assert!(attribute(&page, "[data-payment-status]", "hidden").is_some());
    assert_eq!(
        texts(&page, "[data-payment-status]"),
        ["Payment received, completing your order…"]
    );
    assert_eq!(texts(&page, "#countdown").len(), 1);
}

#[tokio::test]
async fn a_stand_in_stripe_js_takes_stripes_place_in_the_page_and_its_policy() {
    let platform = spawn_with_key(Some("http://127.0.0.1:12111/v3/")).await;
    let (buyer, _, order_id) = bought(&platform).await;
    let (policy, page) = policy_and_page(&platform, &format!("/orders/{order_id}"), &buyer).await;

    assert_eq!(policy, STAND_IN_POLICY);
    assert_eq!(scripts(&page)[1], "http://127.0.0.1:12111/v3/");
    assert!(attribute(&page, "#payment-element", "id").is_some());
    assert!(!page.html().contains("stripe.com"));
    // Every page carries the same policy.
    let landing = platform.get("/", None).await;
    assert_eq!(
        landing.headers()["content-security-policy"],
        STAND_IN_POLICY
    );
}

#[tokio::test]
async fn back_from_3d_secure_the_page_waits_for_the_order_or_asks_to_pay_again() {
    let platform = spawn_with_key(None).await;
    let (buyer, _, order_id) = bought(&platform).await;
    let returned = |status: &str| {
        format!(
            "/orders/{order_id}?payment_intent=pi_123\
             &payment_intent_client_secret=pi_123_secret_456&redirect_status={status}"
        )
    };

    // Authenticated: "completing", the form hidden, the clock gone; the script waits.
    let (_, page) = policy_and_page(&platform, &returned("succeeded"), &buyer).await;
    assert!(attribute(&page, "[data-payment-status]", "hidden").is_none());
    assert_eq!(
        texts(&page, "[data-payment-status]"),
        ["Payment received, completing your order…"]
    );
    assert!(attribute(&page, FORM, "data-completing").is_some());
    assert!(attribute(&page, FORM, "hidden").is_some());
    assert!(texts(&page, "#countdown").is_empty());
    assert!(alert_messages(&page).is_empty());

    // Not authenticated: said in the alert, and the form offered again.
    let (_, page) = policy_and_page(&platform, &returned("failed"), &buyer).await;
    assert_eq!(
        alert_messages(&page),
        ["Your payment was not authenticated. Try again."]
    );
    assert!(attribute(&page, "[data-alerts] .alert-danger", "role").is_some());
    assert!(attribute(&page, FORM, "data-completing").is_none());
    assert!(attribute(&page, FORM, "hidden").is_none());
    assert!(attribute(&page, "[data-payment-status]", "hidden").is_some());
    assert_eq!(texts(&page, "#countdown").len(), 1);

    // Anything else is the page as usual.
    let (_, page) = policy_and_page(&platform, &returned("pending"), &buyer).await;
    assert!(alert_messages(&page).is_empty());
    assert!(attribute(&page, FORM, "data-completing").is_none());

    // Complete before the browser came back: straight to My Orders; a plain visit says paid.
    platform
        .orders_db
        .collection::<mongodb::bson::Document>("orders")
        .update_one(
            mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&order_id).unwrap() },
            mongodb::bson::doc! { "$set": { "status": "complete" } },
        )
        .await
        .unwrap();
    let response = platform.get(&returned("succeeded"), Some(&buyer)).await;
    assert_see_other(&response, "/orders");
    let (_, page) = policy_and_page(&platform, &format!("/orders/{order_id}"), &buyer).await;
    assert_eq!(texts(&page, ".alert-success").len(), 1);
}

#[tokio::test]
async fn without_a_stripe_key_the_order_page_keeps_the_test_card_button() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let path = format!("/orders/{order_id}");
    let (policy, page) = policy_and_page(&platform, &path, &buyer).await;

    assert_eq!(policy, SELF_ONLY_POLICY);
    let scripts = scripts(&page);
    assert_eq!(scripts.len(), 1, "{scripts:?}");
    assert!(scripts[0].starts_with("/static/app.js?v="));
    assert!(texts(&page, FORM).is_empty());
    assert!(attribute(&page, "#payment-element", "id").is_none());
    assert_eq!(
        attribute(&page, "form[data-pay-form]", "action").unwrap(),
        format!("{path}/pay")
    );
    assert_eq!(
        attribute(&page, "form[data-pay-form] input[name=token]", "value").unwrap(),
        "tok_visa"
    );
    assert!(attribute(&page, "form[data-pay-form] input[name=csrf_token]", "value").is_some());
    assert_eq!(texts(&page, "form button"), ["Pay with test card"]);

    // Stripe's return query means nothing without the Payment Element.
    let (_, page) =
        policy_and_page(&platform, &format!("{path}?redirect_status=failed"), &buyer).await;
    assert!(alert_messages(&page).is_empty());
    assert_eq!(texts(&page, "form button"), ["Pay with test card"]);
}

#[tokio::test]
async fn the_payment_script_is_javascript_that_pays_with_the_payment_element() {
    let platform = spawn_with_key(None).await;
    let (buyer, _, order_id) = bought(&platform).await;
    let (_, page) = policy_and_page(&platform, &format!("/orders/{order_id}"), &buyer).await;
    let url = scripts(&page)[2].clone();

    let response = platform.get(&url, None).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let script = response.text().await.unwrap();
    for call in [
        // The intent: the order's id, posted as JSON with the session cookie.
        r#"method: "POST""#,
        r#"credentials: "same-origin""#,
        r#"JSON.stringify({ orderId: page.orderId })"#,
        "body.clientSecret",
        "body.errors",
        // The Payment Element.
        r#"window.Stripe(form.getAttribute("data-stripe-key"))"#,
        "stripe.elements({ clientSecret: clientSecret })",
        r#"elements.create("payment")"#,
        r##"paymentElement.mount("#payment-element")"##,
        r#"paymentElement.on("ready""#,
        // Paying, 3-D Secure coming back to this page.
        "stripe\n        .confirmPayment({",
        "confirmParams: { return_url: page.returnUrl }",
        r#"redirect: "if_required""#,
        "result.error.message",
        r#"status === "succeeded" || status === "processing""#,
        // Waiting for the order, then My Orders.
        "data-completing",
        r#"status === "complete""#,
        "window.location.assign(page.doneUrl)",
    ] {
        assert!(script.contains(call), "payment.js lacks {call}");
    }
    // Only the subset of Stripe.js the local stack's stand-in implements.
    assert!(!script.contains("createToken") && !script.contains("handleCardAction"));
}
