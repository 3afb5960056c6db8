//! A client for a fake, intents made the way the payments service makes them, and a webhook
//! endpoint that records what it is sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use stripe::ApiErrors;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
};
use stripe_fake::{Options, StripeFake, WebhookTarget};
use stripe_types::Currency;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The signing secret the tests' endpoints share with the fake.
pub(crate) const SECRET: &str = "whsec_test_secret";

pub(crate) fn client(fake: &StripeFake) -> stripe::Client {
    stripe::ClientBuilder::new("sk_test_fake")
        .url(format!("{}/", fake.base_url()))
        .build()
        .unwrap()
}

pub(crate) fn idempotent(key: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(key).unwrap())
}

/// An intent of 20.00 USD for `order_id`, as the payments service creates one.
pub(crate) async fn create_intent(
    client: &stripe::Client,
    order_id: &str,
    key: &str,
) -> Result<stripe_core::PaymentIntent, StripeError> {
    CreatePaymentIntent::new(2000, Currency::USD)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
        .metadata([("orderId".to_owned(), order_id.to_owned())])
        .customize()
        .request_strategy(idempotent(key))
        .send(client)
        .await
}

/// The Stripe error and status in `error`, which must be one.
pub(crate) fn stripe_error(error: StripeError) -> (ApiErrors, u16) {
    match error {
        StripeError::Stripe(error, status) => (*error, status),
        other => panic!("not a Stripe error: {other:?}"),
    }
}

/// A fake delivering its events to `endpoint`.
pub(crate) async fn fake_with_webhooks(endpoint: &Endpoint) -> StripeFake {
    StripeFake::start_with(Options {
        webhook: Some(WebhookTarget {
            url: endpoint.url.clone(),
            secret: SECRET.to_owned(),
        }),
        ..Options::default()
    })
    .await
    .unwrap()
}

/// What an endpoint was sent.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) payload: String,
    pub(crate) signature: String,
}

/// A webhook endpoint on a free port: answers the statuses it is given in turn, then 200, and
/// hands over every request it gets.
pub(crate) struct Endpoint {
    pub(crate) url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Recorder {
    answers: Arc<Mutex<VecDeque<u16>>>,
    deliveries: mpsc::UnboundedSender<Delivery>,
}

impl Endpoint {
    pub(crate) async fn start(answers: &[u16]) -> Endpoint {
        let (sender, deliveries) = mpsc::unbounded_channel();
        let recorder = Recorder {
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            deliveries: sender,
        };
        let app = Router::new()
            .route("/webhook", post(receive))
            .with_state(recorder);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Endpoint {
            url,
            deliveries,
            task,
        }
    }

    /// The next request, within 10 seconds.
    pub(crate) async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
            .await
            .expect("no webhook within 10 s")
            .unwrap()
    }

    /// Whether nothing comes within `wait`.
    pub(crate) async fn stays_quiet(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.deliveries.recv())
            .await
            .is_err()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(recorder): State<Recorder>, headers: HeaderMap, body: String) -> StatusCode {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let _ = recorder.deliveries.send(Delivery {
        payload: body,
        signature,
    });
    let answer = recorder.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(answer).unwrap()
}
