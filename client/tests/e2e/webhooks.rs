//! Stripe's webhooks through the running stack, as the local Stripe stand-in sends them through
//! the ingress: no browser, the API and the stand-in's own test hooks (`/__events`,
//! `/__ledger`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long an event may take to have its effect.
const SETTLING: Duration = Duration::from_secs(30);

/// A badly signed event changes nothing; the same event delivered again makes no second
/// payment; an intent paid for a cancelled order is refunded once.
pub(crate) async fn webhooks(base: &str, stripe: &str) {
    let http = reqwest::Client::new();
    let tag = now_nanos();
    let seller = crate::sign_up(&http, base, &format!("seller-{tag}@webhooks.test")).await;
    let buyer = crate::sign_up(&http, base, &format!("buyer-{tag}@webhooks.test")).await;

    // Paid: complete, once, however often the event comes.
    let order = order(&http, base, &seller, &buyer).await;
    let (intent, secret) = intent(&http, base, &buyer, &order).await;
    confirm(&http, stripe, &intent, &secret).await;
    let event = until("the intent's succeeded event is delivered", || async {
        events(&http, stripe).await.into_iter().find(|event| {
            event["payment_intent"] == intent.as_str()
                && event["type"] == "payment_intent.succeeded"
                && event["delivered"] == true
        })
    })
    .await;
    until("the order is complete", || async {
        (status(&http, base, &buyer, &order).await == "complete").then_some(())
    })
    .await;
    let payload = event["payload"].to_string();
    let forged = http
        .post(format!("{base}/api/payments/webhook"))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            format!("t={},v1={}", now(), "ab".repeat(32)),
        )
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400, "a forged signature was taken");
    let again = http
        .post(format!(
            "{stripe}/__events/{}/deliver",
            event["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], 200, "{again}");
    let books = ledger(&http, stripe).await;
    let charge = charge_of(&books, &intent);
    assert_eq!(kept(&books, &charge), 1, "{books}");
    assert_eq!(refunds_of(&books, &charge), 0, "{books}");
    assert_eq!(status(&http, base, &buyer, &order).await, "complete");
    println!("webhooks: paid {order} once through {intent}; a forged event was refused");

    // Paid as the buyer cancelled, the webhook held up meanwhile: refunded once, whichever of
    // the cancellation and the webhook settles it.
    let order = self::order(&http, base, &seller, &buyer).await;
    let (intent, secret) = self::intent(&http, base, &buyer, &order).await;
    let hook = |action: &str| format!("{stripe}/__webhooks/{action}");
    assert_eq!(http.post(hook("pause")).send().await.unwrap().status(), 204);
    confirm(&http, stripe, &intent, &secret).await;
    let cancelled = http
        .delete(format!("{base}/api/orders/{order}"))
        .header("cookie", &buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 204);
    assert_eq!(
        http.post(hook("resume")).send().await.unwrap().status(),
        204
    );
    let refunded = until(
        "the intent paid for a cancelled order is refunded",
        || async {
            let ledger = ledger(&http, stripe).await;
            let charge = charge_of(&ledger, &intent);
            (refunds_of(&ledger, &charge) > 0).then_some(ledger)
        },
    )
    .await;
    assert_eq!(refunds_of(&refunded, &charge_of(&refunded, &intent)), 1);
    assert_eq!(status(&http, base, &buyer, &order).await, "cancelled");
    until("the held-up webhook is delivered", || async {
        events(&http, stripe).await.into_iter().find(|event| {
            event["payment_intent"] == intent.as_str()
                && event["type"] == "payment_intent.succeeded"
                && event["delivered"] == true
        })
    })
    .await;
    let books = ledger(&http, stripe).await;
    assert_eq!(
        refunds_of(&books, &charge_of(&books, &intent)),
        1,
        "{books}"
    );
    println!("webhooks: {intent}, paid for cancelled {order}, refunded once");
}

/// `buyer`'s order of a new ticket of `seller`'s: its id.
async fn order(http: &reqwest::Client, base: &str, seller: &str, buyer: &str) -> String {
    let ticket: Value = http
        .post(format!("{base}/api/tickets"))
        .header("cookie", seller)
        .json(&json!({ "title": "Webhook seat", "price": 30 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["id"].as_str().unwrap().to_owned();
    // Ordering works once the orders service has heard of the ticket.
    until("the ticket can be ordered", || async {
        let url = format!("{base}/api/orders");
        let order = created(http, &url, buyer, json!({ "ticketId": ticket })).await?;
        Some(order["id"].as_str()?.to_owned())
    })
    .await
}

/// The order's intent, once payments has heard of the order: its id and client secret.
async fn intent(http: &reqwest::Client, base: &str, buyer: &str, order: &str) -> (String, String) {
    until("payments makes the order's intent", || async {
        let url = format!("{base}/api/payments/intents");
        let made = created(http, &url, buyer, json!({ "orderId": order })).await?;
        Some((
            made["id"].as_str()?.to_owned(),
            made["clientSecret"].as_str()?.to_owned(),
        ))
    })
    .await
}

/// What `POST url` as `session` with `body` made, if it answered 201.
async fn created(http: &reqwest::Client, url: &str, session: &str, body: Value) -> Option<Value> {
    let response = http
        .post(url)
        .header("cookie", session)
        .json(&body)
        .send()
        .await
        .unwrap();
    if response.status() != 201 {
        return None;
    }
    Some(response.json().await.unwrap())
}

/// Pays the intent at the stand-in as Stripe.js does: publishable key and client secret.
async fn confirm(http: &reqwest::Client, stripe: &str, intent: &str, secret: &str) {
    let confirmed = http
        .post(format!("{stripe}/v1/payment_intents/{intent}/confirm"))
        .form(&[
            ("key", "pk_test_e2e"),
            ("client_secret", secret),
            ("payment_method", "pm_card_visa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
}

async fn status(http: &reqwest::Client, base: &str, buyer: &str, order: &str) -> String {
    let shown: Value = http
        .get(format!("{base}/api/orders/{order}"))
        .header("cookie", buyer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    shown["status"].as_str().unwrap_or_default().to_owned()
}

async fn events(http: &reqwest::Client, stripe: &str) -> Vec<Value> {
    let events: Value = http
        .get(format!("{stripe}/__events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events.as_array().cloned().unwrap_or_default()
}

async fn ledger(http: &reqwest::Client, stripe: &str) -> Value {
    http.get(format!("{stripe}/__ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The charge that paid `intent`.
fn charge_of(ledger: &Value, intent: &str) -> String {
    let intents = ledger["intents"].as_array().unwrap();
    let paid = intents.iter().find(|entry| entry["id"] == intent).unwrap();
    paid["latest_charge"].as_str().unwrap().to_owned()
}

/// Whether `charge` is paid and not refunded: 1 or 0.
fn kept(ledger: &Value, charge: &str) -> usize {
    let charges = ledger["charges"].as_array().unwrap();
    charges
        .iter()
        .filter(|entry| {
            entry["id"] == charge
                && entry["paid"] == true
                && entry["amount_refunded"].as_i64() == Some(0)
        })
        .count()
}

fn refunds_of(ledger: &Value, charge: &str) -> usize {
    let refunds = ledger["refunds"].as_array().unwrap();
    refunds
        .iter()
        .filter(|entry| entry["charge"] == charge)
        .count()
}

/// Polls `found` until it finds something, for at most [`SETTLING`].
async fn until<T, F, Fut>(what: &str, mut found: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + SETTLING;
    loop {
        if let Some(value) = found().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default()
}
