//! Spawning the service for a test, publishing events to it, and reading what it published.

use chrono::Utc;
use common::bus::{Bus, BusSettings};
use common::config::Listen;
use common::events::{
    Event, OrderCancelled, OrderCreated, OrderCreatedTicket, OrderStatus, TicketRef,
};
use common::outbox::Outbox;
use common::testing::events::{backlog, eventually};
use mongodb::bson::oid::ObjectId;
use reqwest::Response;
use serde_json::{Value, json};

pub(crate) use common::testing::http::{assert_errors, assert_message};
use tickets::Config;
use tickets::events::QUEUE_GROUP;
use tickets::models::{TicketDocument, Tickets};

/// What one test's services share: a database of its own and a bus namespace of its own.
/// Every application spawned from it is a replica of the same service.
#[derive(Clone)]
pub(crate) struct Backing {
    pub(crate) mongo_uri: String,
    pub(crate) bus_settings: BusSettings,
    pub(crate) database: mongodb::Database,
    /// The test's own connection, to publish events and read published ones.
    pub(crate) bus: Bus,
    /// The model over the same database (its outbox relayed only by a running application).
    pub(crate) tickets: Tickets,
}

impl Backing {
    /// A fresh database and namespace, with no service running yet.
    pub(crate) async fn new() -> Backing {
        let mongo_uri = common::testing::mongo_uri();
        let bus_settings = common::testing::bus_settings();
        let database = common::mongo::connect(&mongo_uri, "tickets").await.unwrap();
        let bus = Bus::connect_with(&bus_settings).await.unwrap();
        let tickets = Tickets::new(&database, Outbox::new(&database));
        Backing {
            mongo_uri,
            bus_settings,
            database,
            bus,
            tickets,
        }
    }

    /// Starts a replica of the service on a random port.
    pub(crate) async fn spawn_app(&self) -> TestApp {
        let config = Config {
            listen: Listen::loopback_any_port(),
            mongo_uri: self.mongo_uri.clone(),
            sessions: common::testing::session_settings(),
            bus: self.bus_settings.clone(),
        };
        let server = tickets::build(config)
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

    /// The ticket as stored.
    pub(crate) async fn stored(&self, id: &str) -> TicketDocument {
        let id = ObjectId::parse_str(id).unwrap();
        self.tickets
            .find(id)
            .await
            .unwrap()
            .expect("the ticket exists")
    }

    /// How many outbox records wait to be published.
    pub(crate) async fn outbox_pending(&self) -> u64 {
        Outbox::new(&self.database).pending().await.unwrap()
    }

    /// Waits until every order event published so far was handled and acked, and everything
    /// the handlers recorded was published.
    pub(crate) async fn settled(&self) {
        eventually(
            "the listeners acked everything and the outbox is empty",
            || async {
                self.consumer_drained::<OrderCreated>().await
                    && self.consumer_drained::<OrderCancelled>().await
                    && self.outbox_pending().await == 0
            },
        )
        .await;
    }

    /// Whether the service's durable consumer for `E` has nothing undelivered or unacked.
    pub(crate) async fn consumer_drained<E: Event>(&self) -> bool {
        backlog::<E>(&self.bus, QUEUE_GROUP).await.is_drained()
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

    /// `POST /api/tickets` with `body`, signed in with `cookie` if given.
    pub(crate) async fn post_ticket(&self, cookie: Option<&str>, body: Value) -> Response {
        let mut request = self.client.post(self.url("/api/tickets")).json(&body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Creates a ticket as `cookie`'s user; returns its JSON.
    pub(crate) async fn create_ticket(&self, cookie: &str, title: &str, price: f64) -> Value {
        let response = self
            .post_ticket(Some(cookie), json!({ "title": title, "price": price }))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    /// `PUT /api/tickets/:id` with `body`, signed in with `cookie` if given.
    pub(crate) async fn put_ticket(&self, cookie: Option<&str>, id: &str, body: Value) -> Response {
        let mut request = self
            .client
            .put(self.url(&format!("/api/tickets/{id}")))
            .json(&body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// `GET /api/tickets/:id`.
    pub(crate) async fn get_ticket(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/tickets/{id}")))
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/tickets`, which must be 200.
    pub(crate) async fn list_tickets(&self) -> Vec<Value> {
        let response = self
            .client
            .get(self.url("/api/tickets"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// Publishes `order:created` for `ticket` by a new order, and waits until the ticket shows
    /// that order. Returns the event.
    pub(crate) async fn reserve(&self, ticket: &Value) -> OrderCreated {
        let event = order_created(ticket);
        self.backing.publish(&event).await;
        let id = ticket["id"].as_str().unwrap();
        eventually("the ticket is reserved", || async {
            self.backing.stored(id).await.order_id.as_deref() == Some(event.id.as_str())
        })
        .await;
        event
    }
}

/// `order:created` for `ticket` by a new order, as the orders service publishes it.
pub(crate) fn order_created(ticket: &Value) -> OrderCreated {
    OrderCreated {
        id: ObjectId::new().to_hex(),
        version: 0,
        status: OrderStatus::Created,
        user_id: ObjectId::new().to_hex(),
        expires_at: Utc::now() + chrono::Duration::minutes(15),
        ticket: OrderCreatedTicket {
            id: ticket["id"].as_str().unwrap().to_owned(),
            price: ticket["price"].as_f64().unwrap(),
        },
    }
}

/// `order:cancelled` for the order `created` announced.
pub(crate) fn order_cancelled(created: &OrderCreated) -> OrderCancelled {
    OrderCancelled {
        id: created.id.clone(),
        version: 1,
        ticket: TicketRef {
            id: created.ticket.id.clone(),
        },
    }
}
