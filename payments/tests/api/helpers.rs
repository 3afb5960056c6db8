//! The payments service's seeders and requests, with Stripe faked at the edge; the harness
//! itself is `common::testing`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::bus::access;
use common::config::Secret;
use common::events::{OrderCancelled, OrderCreated, OrderCreatedTicket, OrderStatus, TicketRef};
use common::outbox::Outbox;
use common::testing::events::eventually;
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use payments::Config;
use payments::config::{Failpoints, PaymentLimitSettings, ReconcilerSettings, StripeSettings};
use payments::models::{ChargeAttempt, OrderDocument, Orders, PaymentDocument, Payments};
use reqwest::Response;
use serde_json::{Value, json};
use stripe_fake::{ChargeEntry, LedgerSnapshot, RefundEntry, StripeFake};
use stripe_webhook::Webhook;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) use common::testing::http::{assert_errors, assert_message};

/// The Stripe secret key the tests configure.
pub(crate) const STRIPE_KEY: &str = "sk_test_payments";

/// The webhook signing secret the tests configure.
pub(crate) const WEBHOOK_SECRET: &str = "whsec_payments_tests";

/// A reconciler that never runs during a test.
pub(crate) const NO_RECONCILER: ReconcilerSettings = ReconcilerSettings {
    interval: Duration::from_secs(3600),
    after: Duration::from_secs(3600),
};

/// A reconciler that settles anything pending for a third of a second.
pub(crate) const QUICK_RECONCILER: ReconcilerSettings = ReconcilerSettings {
    interval: Duration::from_millis(100),
    after: Duration::from_millis(300),
};

/// The Stripe a test's services talk to.
#[derive(Clone)]
pub(crate) enum FakeStripe {
    /// The workspace's Stripe stand-in: charges, refunds and idempotency keys as Stripe does.
    StandIn(Arc<StripeFake>),
    /// A wiremock server answering what the test mounts, recording what it was sent.
    Mock(Arc<MockServer>),
}

/// One test's database, bus namespace and Stripe, with the payments models over them.
#[derive(Clone, derive_more::Deref)]
pub(crate) struct Backing {
    #[deref]
    shared: common::testing::Backing,
    pub(crate) orders: Orders,
    pub(crate) payments: Payments,
    pub(crate) stripe: FakeStripe,
}

impl Backing {
    /// A fresh database and namespace, with the Stripe stand-in.
    pub(crate) async fn new() -> Backing {
        let fake = StripeFake::start().await.unwrap();
        Backing::with_stripe(FakeStripe::StandIn(Arc::new(fake))).await
    }

    /// A fresh database and namespace, with a wiremock Stripe (nothing mounted yet).
    pub(crate) async fn with_mock() -> Backing {
        let server = MockServer::start().await;
        Backing::with_stripe(FakeStripe::Mock(Arc::new(server))).await
    }

    async fn with_stripe(stripe: FakeStripe) -> Backing {
        let shared = common::testing::Backing::new(access::PAYMENTS).await;
        let database = shared.database();
        let orders = Orders::new(database);
        let payments = Payments::new(database, orders.clone(), Outbox::new(database));
        Backing {
            shared,
            orders,
            payments,
            stripe,
        }
    }

    /// Stripe's base URL.
    pub(crate) fn stripe_base(&self) -> String {
        match &self.stripe {
            FakeStripe::StandIn(fake) => fake.base_url().to_owned(),
            FakeStripe::Mock(server) => server.uri(),
        }
    }

    /// The wiremock Stripe (panics for a test using the stand-in).
    pub(crate) fn mock(&self) -> &MockServer {
        match &self.stripe {
            FakeStripe::Mock(server) => server,
            FakeStripe::StandIn(_) => panic!("this test runs with the Stripe stand-in"),
        }
    }

    /// What the Stripe stand-in charged and refunded (panics for a test using wiremock).
    pub(crate) fn ledger(&self) -> LedgerSnapshot {
        self.stand_in().ledger().snapshot()
    }

    /// The Stripe stand-in (panics for a test using wiremock).
    pub(crate) fn stand_in(&self) -> &StripeFake {
        match &self.stripe {
            FakeStripe::StandIn(fake) => fake,
            FakeStripe::Mock(_) => panic!("this test runs with a wiremock Stripe"),
        }
    }

    /// The configuration of a replica: a random port, quick redeliveries, no reconciler, the
    /// default rate limits.
    pub(crate) fn config(&self) -> Config {
        Config {
            service: self.service_settings(),
            listener: common::testing::listener_options(),
            stripe: StripeSettings {
                key: Secret::new(STRIPE_KEY),
                webhook_secret: Some(Secret::new(WEBHOOK_SECRET)),
                api_base: Some(self.stripe_base()),
                timeout: Duration::from_secs(5),
            },
            reconciler: NO_RECONCILER,
            limits: PaymentLimitSettings::default(),
            failpoints: Failpoints::default(),
        }
    }

    /// Starts a replica of the service.
    pub(crate) async fn spawn_app(&self) -> TestApp {
        self.spawn_with(self.config()).await
    }

    /// Starts a replica of the service with `config`.
    pub(crate) async fn spawn_with(&self, config: Config) -> TestApp {
        let server = payments::build(config)
            .await
            .expect("the application builds");
        TestApp(common::testing::TestApp::spawn(server, self.clone()))
    }

    /// Publishes `order:created` for a new order of `user_id` at `price`, expiring at
    /// `expires_at`, without waiting for it.
    pub(crate) async fn announce_order(
        &self,
        user_id: &str,
        price: f64,
        expires_at: DateTime<Utc>,
    ) -> OrderCreated {
        let event = order_created(user_id, price, expires_at);
        self.publish(&event).await;
        event
    }

    /// An order the orders service created for `user_id` (a quarter of an hour to pay), once
    /// the replica has it.
    pub(crate) async fn seed_order(&self, user_id: &str, price: f64) -> OrderCreated {
        self.seed_order_expiring(user_id, price, Utc::now() + TimeDelta::minutes(15))
            .await
    }

    /// [`Backing::seed_order`] expiring at `expires_at`.
    pub(crate) async fn seed_order_expiring(
        &self,
        user_id: &str,
        price: f64,
        expires_at: DateTime<Utc>,
    ) -> OrderCreated {
        let event = self.announce_order(user_id, price, expires_at).await;
        eventually("the replica has the order", || async {
            self.replica(&event.id).await.is_some()
        })
        .await;
        event
    }

    /// Publishes `order:cancelled` for `order` at `version`.
    pub(crate) async fn cancel(&self, order: &OrderCreated, version: i64) {
        self.publish(&OrderCancelled {
            id: order.id.clone(),
            version,
            ticket: TicketRef {
                id: order.ticket.id.clone(),
            },
        })
        .await;
    }

    /// Cancels `order` (version 1) and waits until the replica says so.
    pub(crate) async fn cancel_and_wait(&self, order: &OrderCreated) {
        self.cancel(order, 1).await;
        eventually("the replica is cancelled", || async {
            self.replica(&order.id).await.unwrap().status == OrderStatus::Cancelled
        })
        .await;
    }

    /// The replica of the order, if any.
    pub(crate) async fn replica(&self, id: &str) -> Option<OrderDocument> {
        self.orders.find(oid(id)).await.unwrap()
    }

    /// The payment recorded for the order, if any.
    pub(crate) async fn payment_of(&self, order_id: &str) -> Option<PaymentDocument> {
        self.payments.for_order(oid(order_id)).await.unwrap()
    }

    /// Every attempt to pay for the order.
    pub(crate) async fn attempts_for(&self, order_id: &str) -> Vec<ChargeAttempt> {
        self.payments.attempts_for(oid(order_id)).await.unwrap()
    }
}

/// One running replica of the service, with the payments requests.
#[derive(derive_more::Deref)]
pub(crate) struct TestApp(common::testing::TestApp<Backing>);

/// A fresh backing (Stripe stand-in) with one replica running.
pub(crate) async fn spawn_app() -> TestApp {
    Backing::new().await.spawn_app().await
}

/// A healthy replica of `backing` whose reconciler runs every 100 ms.
pub(crate) async fn reconciling_app(backing: &Backing) -> TestApp {
    let mut config = backing.config();
    config.reconciler = QUICK_RECONCILER;
    backing.spawn_with(config).await
}

/// A fresh backing (wiremock Stripe) with one replica running.
pub(crate) async fn spawn_app_with_mock() -> TestApp {
    Backing::with_mock().await.spawn_app().await
}

impl TestApp {
    /// `POST /api/payments` with `body`, signed in with `cookie` if given.
    pub(crate) async fn post_payment(&self, cookie: Option<&str>, body: Value) -> Response {
        self.post("/api/payments", cookie, &body).await
    }

    /// `POST /api/payments/intents` for `order_id`, signed in with `cookie` if given.
    pub(crate) async fn post_intent(&self, cookie: Option<&str>, order_id: &str) -> Response {
        self.post(
            "/api/payments/intents",
            cookie,
            &json!({ "orderId": order_id }),
        )
        .await
    }

    /// The intent of `order_id` as `cookie`'s user: its id, once made.
    pub(crate) async fn intent_for(&self, cookie: &str, order_id: &str) -> String {
        let response = self.post_intent(Some(cookie), order_id).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/payments/webhook` with `payload`, signed as `signature` says.
    pub(crate) async fn post_webhook(&self, payload: &str, signature: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(self.url("/api/payments/webhook"))
            .header("content-type", "application/json")
            .body(payload.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send().await.unwrap()
    }

    /// Delivers `event` as Stripe would: signed now with the endpoint's secret.
    pub(crate) async fn deliver(&self, event: &Value) -> Response {
        let payload = event.to_string();
        let signature = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
        self.post_webhook(&payload, Some(&signature)).await
    }

    /// The stand-in's last event of `kind` about `intent_id`, as it would send it.
    pub(crate) fn event_of(&self, intent_id: &str, kind: &str) -> Value {
        self.backing
            .stand_in()
            .events()
            .into_iter()
            .rev()
            .find(|event| event.payment_intent == intent_id && event.payload["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} event of {intent_id}"))
            .payload
    }

    /// Pays the intent at the stand-in with `payment_method`, as Stripe.js would.
    pub(crate) fn confirm(&self, intent_id: &str, payment_method: &str) {
        self.backing
            .stand_in()
            .confirm_intent(intent_id, payment_method);
    }

    /// Pays for `order_id` with `token` as `cookie`'s user.
    pub(crate) async fn pay(&self, cookie: &str, order_id: &str, token: &str) -> Response {
        self.post_payment(Some(cookie), json!({ "token": token, "orderId": order_id }))
            .await
    }

    /// A new user's new order at `price`, replicated.
    pub(crate) async fn place_order(&self, price: f64) -> Placed {
        let (user_id, cookie) = signed_in_user();
        let order = self.backing.seed_order(&user_id, price).await;
        Placed {
            id: order.id.clone(),
            order,
            cookie,
        }
    }
}

/// An order the orders service announced, and who placed it.
pub(crate) struct Placed {
    /// The order's id.
    pub(crate) id: String,
    /// Its `order:created`.
    pub(crate) order: OrderCreated,
    /// Its user's session cookie.
    pub(crate) cookie: String,
}

/// The id in `text`.
pub(crate) fn oid(text: &str) -> ObjectId {
    ObjectId::parse_str(text).unwrap()
}

/// A Stripe charge object for a wiremock answer.
pub(crate) fn charge_json(id: &str, amount: i64) -> Value {
    stripe_fake::objects::charge(&ChargeEntry {
        id: id.to_owned(),
        amount,
        currency: "usd".to_owned(),
        source: "tok_visa".to_owned(),
        paid: true,
        amount_refunded: 0,
        created: Utc::now().timestamp(),
        failure_code: None,
        failure_message: None,
        idempotency_key: None,
        payment_intent: None,
    })
}

/// A Stripe refund object for a wiremock answer.
pub(crate) fn refund_json(id: &str, charge: &str, amount: i64) -> Value {
    stripe_fake::objects::refund(&RefundEntry {
        id: id.to_owned(),
        charge: charge.to_owned(),
        amount,
        currency: "usd".to_owned(),
        created: Utc::now().timestamp(),
        idempotency_key: None,
        payment_intent: None,
    })
}

/// A form body as sorted `name=value` pairs (the values the tests send need no decoding).
pub(crate) fn form_pairs(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut pairs: Vec<String> = text.split('&').map(str::to_owned).collect();
    pairs.sort_unstable();
    pairs
}

/// The `order:created` of a new order of `user_id` at `price`, expiring at `expires_at`.
pub(crate) fn order_created(user_id: &str, price: f64, expires_at: DateTime<Utc>) -> OrderCreated {
    OrderCreated {
        id: ObjectId::new().to_hex(),
        version: 0,
        status: OrderStatus::Created,
        user_id: user_id.to_owned(),
        expires_at,
        ticket: OrderCreatedTicket {
            id: ObjectId::new().to_hex(),
            price,
        },
    }
}

/// Makes the wiremock Stripe answer `POST endpoint` with `status` and `body`: the first
/// `times` requests, or every one.
pub(crate) async fn stripe_answers(
    mock: &MockServer,
    endpoint: &str,
    status: u16,
    body: Value,
    times: Option<u64>,
) {
    let answer = Mock::given(method("POST"))
        .and(path(endpoint))
        .respond_with(ResponseTemplate::new(status).set_body_json(body));
    match times {
        Some(times) => answer.up_to_n_times(times).mount(mock).await,
        None => answer.mount(mock).await,
    }
}

/// A Stripe error body.
pub(crate) fn stripe_error(kind: &str, message: &str) -> Value {
    json!({ "error": { "type": kind, "message": message } })
}

/// The requests the wiremock Stripe received at `endpoint`, in order.
pub(crate) async fn requests_to(mock: &MockServer, endpoint: &str) -> Vec<wiremock::Request> {
    mock.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == endpoint)
        .collect()
}

/// The status of an answer and its first error message (empty for a success).
pub(crate) async fn status_and_message(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, message)
}

/// The charges Stripe made for `order_id` (their keys name the order).
pub(crate) fn charges_for<'a>(
    ledger: &'a LedgerSnapshot,
    order_id: &str,
) -> Vec<&'a stripe_fake::ChargeEntry> {
    ledger
        .paid_charges()
        .into_iter()
        .filter(|charge| {
            charge
                .idempotency_key
                .as_deref()
                .is_some_and(|key| key.contains(order_id))
        })
        .collect()
}

pub(crate) use common::testing::assert_added;
