//! A local stand-in for the slice of Stripe the payments service and the shop's payment page
//! use.
//!
//! `cargo xtask up` runs it when no `STRIPE_KEY` is given, and tests run it in-process, so the
//! real `async-stripe` client, webhook checks and the browser flow can be exercised without
//! the network. It speaks Stripe's wire format for:
//!
//! - `POST /v1/charges` (form: `amount`, `currency`, `source`): test tokens such as `tok_visa`
//!   succeed; `tok_chargeDeclined` and friends are declined with a 402 `card_error`; any other
//!   token is a 400 `invalid_request_error`;
//! - `GET /v1/charges/{id}`;
//! - `POST /v1/payment_intents` (form: `amount`, `currency`, `metadata[...]`,
//!   `automatic_payment_methods[enabled]`, optional `payment_method` and `confirm=true`),
//!   `GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/confirm`
//!   (`payment_method`, optional `return_url`) and `POST /v1/payment_intents/{id}/cancel`:
//!   `pm_card_visa` and friends succeed (a charge is booked), `pm_card_chargeDeclined` and
//!   friends are declined (402 `card_error` carrying the intent, which waits for another card),
//!   `pm_card_authenticationRequired` and `pm_card_threeDSecure2Required` need 3-D Secure
//!   (`requires_action`, redirecting to the fake's own `/__3ds/{id}` page); confirming or
//!   cancelling a paid intent is a 400 `payment_intent_unexpected_state`;
//! - reading and confirming an intent from a browser, as Stripe.js does: `key=pk_...` and the
//!   intent's `client_secret` instead of a secret key, with CORS;
//! - `POST /v1/refunds` (form: `charge` or `payment_intent`, optional `amount`): refunding a
//!   fully refunded charge is a 400 `charge_already_refunded`, an intent without a successful
//!   charge a 400 `charge_not_refundable`;
//! - `Idempotency-Key` as Stripe honours it: the same key with the same parameters replays the
//!   saved response (successes and card errors are saved; validation errors are not); the same
//!   key with other parameters is a 400 `idempotency_error`;
//! - webhooks: `payment_intent.succeeded`, `.payment_failed`, `.requires_action` and
//!   `.canceled` events, signed with `Stripe-Signature` and retried until a 2xx (see
//!   [`webhooks`]), when started with a [`WebhookTarget`];
//! - `GET /v3/` (and `/v3/stripe.js`): a stand-in Stripe.js with `Stripe(pk)`, `elements`,
//!   a payment element listing the test cards, `confirmPayment` and `retrievePaymentIntent`.
//!
//! Not Stripe's, for tests: `GET /__ledger` (every charge, refund and intent, with the key
//! that created it, for invariant checks such as "every charge not kept was refunded exactly
//! once"), `GET /__events` and `POST /__events/{id}/deliver` (the events and their deliveries;
//! send one again), and the 3-D Secure page `GET`/`POST /__3ds/{id}`.
//!
//! Requests need an `Authorization: Bearer <any key>` header, as Stripe's do, except the
//! browser's reads and confirmations above.
//!
//! Layout: [`ledger`] (the books and their rules), [`entries`] (what the books keep),
//! [`objects`] (Stripe's JSON), [`webhooks`] (delivery), `links` (the URLs handed out),
//! `routes` (HTTP), `assets/stripe.js` (the stand-in script).

pub mod entries;
pub mod ledger;
mod links;
pub mod objects;
mod routes;
pub mod webhooks;

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use entries::{
    ChargeEntry, EventEntry, IntentEntry, IntentEvent, IntentStatus, PaymentError, RefundEntry,
};
pub use ledger::{Ledger, LedgerSnapshot, Reply};
pub use webhooks::{DEFAULT_WEBHOOK_ATTEMPTS, DeliveryError, WebhookTarget};

use ledger::{Access, Params};
use routes::{AppState, router};
use webhooks::Webhooks;

/// How a fake behaves beyond Stripe's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where events are delivered; none records them without sending them.
    pub webhook: Option<WebhookTarget>,
    /// How many times an event is sent before the fake stops retrying it.
    pub webhook_attempts: u32,
    /// The origin browsers reach the fake at (for the 3-D Secure page's URL), when it is not
    /// the `Host` the confirming request named, e.g. when the server confirms over a
    /// container network. No trailing slash needed.
    pub public_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            webhook: None,
            webhook_attempts: DEFAULT_WEBHOOK_ATTEMPTS,
            public_url: None,
        }
    }
}

/// A running fake: its base URL (what `STRIPE_API_BASE` should be), its books, its webhook
/// deliverer, and the tasks serving them. Dropping it stops them.
#[derive(Debug)]
pub struct StripeFake {
    base_url: String,
    state: AppState,
    server: JoinHandle<io::Result<()>>,
    deliverer: JoinHandle<()>,
}

impl StripeFake {
    /// Starts a fake on a free port of the loopback interface, without webhooks.
    pub async fn start() -> io::Result<StripeFake> {
        StripeFake::start_with(Options::default()).await
    }

    /// Starts a fake on a free port of the loopback interface.
    pub async fn start_with(options: Options) -> io::Result<StripeFake> {
        serve_with(TcpListener::bind(("127.0.0.1", 0)).await?, options)
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The books, shared with the running server.
    pub fn ledger(&self) -> &Ledger {
        &self.state.ledger
    }

    /// Every event so far, oldest first, with how its delivery went.
    pub fn events(&self) -> Vec<EventEntry> {
        self.state.ledger.events()
    }

    /// Sends event `id` to the webhook endpoint once, now (paused or not), and answers the
    /// status the endpoint answered: a replayed delivery, as Stripe's "Resend" makes one.
    pub async fn deliver(&self, event_id: &str) -> Result<u16, DeliveryError> {
        self.state.webhooks.deliver(event_id).await
    }

    /// Holds back webhook deliveries: events are recorded and wait, as if the endpoint never
    /// heard of them.
    pub fn pause_webhooks(&self) {
        self.state.webhooks.pause();
    }

    /// Delivers the events that waited while paused, and the next ones.
    pub fn resume_webhooks(&self) {
        self.state.webhooks.resume();
    }

    /// Confirms intent `id` with `payment_method` (e.g. `pm_card_visa`), as the customer's
    /// browser does through `POST /v1/payment_intents/{id}/confirm`, and answers what that
    /// endpoint answers.
    pub fn confirm_intent(&self, id: &str, payment_method: &str) -> Reply {
        let params = Params(vec![(
            "payment_method".to_owned(),
            payment_method.to_owned(),
        )]);
        let redirect_base = self
            .state
            .public_url
            .clone()
            .unwrap_or_else(|| self.base_url.clone());
        self.state
            .ledger
            .confirm_intent(id, &params, None, &Access::SecretKey, &redirect_base)
    }

    /// Serves until the server ends (it does not end by itself).
    pub async fn wait(mut self) -> io::Result<()> {
        match (&mut self.server).await {
            Ok(result) => result,
            Err(error) => Err(io::Error::other(error)),
        }
    }
}

impl Drop for StripeFake {
    fn drop(&mut self) {
        self.server.abort();
        self.deliverer.abort();
    }
}

/// Serves a fake with empty books and no webhooks on `listener`, in a background task.
pub fn serve(listener: TcpListener) -> io::Result<StripeFake> {
    serve_with(listener, Options::default())
}

/// Serves a fake with empty books on `listener`, in background tasks.
pub fn serve_with(listener: TcpListener, options: Options) -> io::Result<StripeFake> {
    let address: SocketAddr = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let ledger = Ledger::default();
    let webhooks = Webhooks::new(ledger.clone(), options.webhook, options.webhook_attempts);
    let state = AppState {
        ledger,
        webhooks: webhooks.clone(),
        public_url: options.public_url,
        base_url: base_url.clone(),
    };
    let app = router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let deliverer = tokio::spawn(webhooks.run());
    Ok(StripeFake {
        base_url,
        state,
        server,
        deliverer,
    })
}
