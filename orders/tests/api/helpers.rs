//! Spawning the service for a test, publishing events to it, and reading what it published.

use std::time::Duration;

use common::bus::listener::ListenerOptions;
use common::bus::{Bus, BusSettings};
use common::config::Listen;
use common::events::{
    Event, ExpirationComplete, OrderCancelled, OrderStatus, PaymentCreated, TicketCreated,
    TicketRef, TicketUpdated,
};
use common::outbox::Outbox;
use common::testing::events::{Backlog, backlog, eventually};
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use orders::Config;
use orders::config::DEFAULT_MAX_UNPAID_ORDERS;
use orders::events::QUEUE_GROUP;
use orders::models::{OrderDocument, OrderRules, Orders, TicketDocument, Tickets};
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

pub(crate) use common::testing::http::{assert_errors, assert_message};

/// How long a test order waits for payment.
pub(crate) const EXPIRATION_WINDOW: Duration = Duration::from_secs(60);

/// What one test's services share: a database of its own and a bus namespace of its own.
/// Every application spawned from it is a replica of the same service.
#[derive(Clone)]
pub(crate) struct Backing {
    pub(crate) mongo_uri: String,
    pub(crate) bus_settings: BusSettings,
    pub(crate) database: mongodb::Database,
    /// The test's own connection, to publish events and read published ones.
    pub(crate) bus: Bus,
    /// The models over the same database (their outbox relayed only by a running application).
    pub(crate) tickets: Tickets,
    pub(crate) orders: Orders,
}

impl Backing {
    /// A fresh database and namespace, with no service running yet.
    pub(crate) async fn new() -> Backing {
        let mongo_uri = common::testing::mongo_uri();
        let bus_settings = common::testing::bus_settings();
        let database = common::mongo::connect(&mongo_uri, "orders").await.unwrap();
        let bus = Bus::connect_with(&bus_settings).await.unwrap();
        let tickets = Tickets::new(&database);
        let orders = Orders::new(
            &database,
            tickets.clone(),
            Outbox::new(&database),
            OrderRules {
                expiration_window: EXPIRATION_WINDOW,
                max_unpaid: DEFAULT_MAX_UNPAID_ORDERS,
            },
        );
        Backing {
            mongo_uri,
            bus_settings,
            database,
            bus,
            tickets,
            orders,
        }
    }

    /// The configuration of a replica: a random port, quick redeliveries.
    pub(crate) fn config(&self) -> Config {
        Config {
            listen: Listen::loopback_any_port(),
            mongo_uri: self.mongo_uri.clone(),
            sessions: common::testing::session_settings(),
            bus: self.bus_settings.clone(),
            expiration_window: EXPIRATION_WINDOW,
            max_unpaid_orders: DEFAULT_MAX_UNPAID_ORDERS,
            listener: ListenerOptions {
                first_retry: Duration::from_millis(20),
                max_retry: Duration::from_millis(200),
                ..ListenerOptions::default()
            },
        }
    }

    /// Starts a replica of the service.
    pub(crate) async fn spawn_app(&self) -> TestApp {
        let server = orders::build(self.config())
            .await
            .expect("the application builds");
        let address = common::testing::http::spawn(server);
        TestApp {
            address,
            client: reqwest::Client::new(),
            backing: self.clone(),
        }
    }

    /// Publishes `event` with a fresh message id, as another service's relay would.
    pub(crate) async fn publish<E: Event>(&self, event: &E) {
        common::testing::events::publish(&self.bus, event).await;
    }

    /// Publishes `ticket:created` for a new ticket (at `version`) without waiting for it.
    pub(crate) async fn announce_ticket(
        &self,
        title: &str,
        price: f64,
        version: i64,
    ) -> TicketCreated {
        let event = TicketCreated {
            id: ObjectId::new().to_hex(),
            title: title.to_owned(),
            price,
            user_id: ObjectId::new().to_hex(),
            version,
        };
        self.publish(&event).await;
        event
    }

    /// A ticket the tickets service created, once the replica has it.
    pub(crate) async fn seed_ticket(&self, title: &str, price: f64) -> TicketCreated {
        let event = self.announce_ticket(title, price, 0).await;
        eventually("the replica has the ticket", || async {
            self.replica(&event.id).await.is_some()
        })
        .await;
        event
    }

    /// Publishes `ticket:updated` for `ticket` at `version` with `title`.
    pub(crate) async fn update_ticket(&self, ticket: &TicketCreated, version: i64, title: &str) {
        self.publish(&TicketUpdated {
            id: ticket.id.clone(),
            title: title.to_owned(),
            price: ticket.price,
            user_id: ticket.user_id.clone(),
            version,
            order_id: None,
        })
        .await;
    }

    /// Publishes `expiration:complete` for the order.
    pub(crate) async fn expire(&self, order_id: &str) {
        self.publish(&ExpirationComplete {
            order_id: order_id.to_owned(),
        })
        .await;
    }

    /// Publishes `payment:created` for the order.
    pub(crate) async fn pay(&self, order_id: &str) {
        self.publish(&PaymentCreated {
            id: ObjectId::new().to_hex(),
            order_id: order_id.to_owned(),
            stripe_id: format!("ch_{}", ObjectId::new().to_hex()),
        })
        .await;
    }

    /// The replica of the ticket, if any.
    pub(crate) async fn replica(&self, id: &str) -> Option<TicketDocument> {
        self.tickets
            .find(ObjectId::parse_str(id).unwrap())
            .await
            .unwrap()
    }

    /// The order as stored.
    pub(crate) async fn stored(&self, id: &str) -> OrderDocument {
        self.orders
            .find(ObjectId::parse_str(id).unwrap())
            .await
            .unwrap()
            .expect("the order exists")
    }

    /// How many outbox records wait to be published.
    pub(crate) async fn outbox_pending(&self) -> u64 {
        Outbox::new(&self.database).pending().await.unwrap()
    }

    /// Waits until every event published so far was handled and acked, and everything the
    /// service recorded was published.
    pub(crate) async fn settled(&self) {
        eventually(
            "the listeners acked everything and the outbox is empty",
            || async {
                self.consumer_drained::<TicketCreated>().await
                    && self.consumer_drained::<TicketUpdated>().await
                    && self.consumer_drained::<ExpirationComplete>().await
                    && self.consumer_drained::<PaymentCreated>().await
                    && self.outbox_pending().await == 0
            },
        )
        .await;
    }

    /// Waits until the service's consumer for `E` refused an event and got it again.
    pub(crate) async fn wait_until_redelivered<E: Event>(&self) {
        eventually("an event is refused and redelivered", || async {
            self.consumer_backlog::<E>().await.redelivered > 0
        })
        .await;
    }

    /// Whether the service's durable consumer for `E` has nothing undelivered or unacked.
    pub(crate) async fn consumer_drained<E: Event>(&self) -> bool {
        self.consumer_backlog::<E>().await.is_drained()
    }

    /// The state of the service's durable consumer for `E`.
    pub(crate) async fn consumer_backlog<E: Event>(&self) -> Backlog {
        backlog::<E>(&self.bus, QUEUE_GROUP).await
    }
}

/// One running replica of the service.
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) client: reqwest::Client,
    pub(crate) backing: Backing,
}

/// A fresh backing with one replica running.
pub(crate) async fn spawn_app() -> TestApp {
    Backing::new().await.spawn_app().await
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `request`, signed in with `cookie` if given.
    async fn send(&self, request: RequestBuilder, cookie: Option<&str>) -> Response {
        let request = match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// `POST /api/orders` with `body`.
    pub(crate) async fn post_order(&self, cookie: Option<&str>, body: Value) -> Response {
        let request = self.client.post(self.url("/api/orders")).json(&body);
        self.send(request, cookie).await
    }

    /// `GET /api/orders`.
    pub(crate) async fn list_orders(&self, cookie: Option<&str>) -> Response {
        self.send(self.client.get(self.url("/api/orders")), cookie)
            .await
    }

    /// `GET /api/orders/:id`.
    pub(crate) async fn show_order(&self, cookie: Option<&str>, id: &str) -> Response {
        let request = self.client.get(self.url(&format!("/api/orders/{id}")));
        self.send(request, cookie).await
    }

    /// `DELETE /api/orders/:id`.
    pub(crate) async fn cancel_order(&self, cookie: Option<&str>, id: &str) -> Response {
        let request = self.client.delete(self.url(&format!("/api/orders/{id}")));
        self.send(request, cookie).await
    }

    /// Orders `ticket_id` as `cookie`'s user; the 201 body.
    pub(crate) async fn create_order(&self, cookie: &str, ticket_id: &str) -> Value {
        let response = self
            .post_order(Some(cookie), json!({ "ticketId": ticket_id }))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    /// A new ticket ordered through the API by a new user.
    pub(crate) async fn place_order(&self) -> Placed {
        let ticket = self.backing.seed_ticket("concert", 20.0).await;
        let (user_id, cookie) = signed_in_user();
        let order = self.create_order(&cookie, &ticket.id).await;
        Placed {
            id: order["id"].as_str().unwrap().to_owned(),
            order,
            ticket,
            user_id,
            cookie,
        }
    }

    /// Pays for the order with a real `payment:created`, and waits until it is complete.
    pub(crate) async fn complete(&self, order_id: &str) {
        self.backing.pay(order_id).await;
        eventually("the order is complete", || async {
            self.backing.stored(order_id).await.status == OrderStatus::Complete
        })
        .await;
    }
}

/// An order placed through the API, and what placed it.
pub(crate) struct Placed {
    /// The order's id.
    pub(crate) id: String,
    /// The 201 body.
    pub(crate) order: Value,
    /// The `ticket:created` that announced its ticket.
    pub(crate) ticket: TicketCreated,
    /// Who placed it.
    pub(crate) user_id: String,
    pub(crate) cookie: String,
}

impl Placed {
    /// The `order:cancelled` its cancellation publishes: version 1, with its ticket.
    pub(crate) fn cancelled_event(&self) -> OrderCancelled {
        OrderCancelled {
            id: self.id.clone(),
            version: 1,
            ticket: TicketRef {
                id: self.ticket.id.clone(),
            },
        }
    }
}
