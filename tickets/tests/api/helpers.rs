//! The tickets service's seeders and requests; the harness itself is `common::testing`.

use chrono::Utc;
use common::bus::access;
use common::events::{OrderCancelled, OrderCreated, OrderCreatedTicket, OrderStatus, TicketRef};
use common::outbox::Outbox;
use common::testing::events::eventually;
use mongodb::bson::oid::ObjectId;
use reqwest::Response;
use serde_json::{Value, json};

pub(crate) use common::testing::http::{assert_errors, assert_message};
use tickets::Config;
use tickets::models::{TicketDocument, Tickets};

/// One test's database and bus namespace, with the tickets model over them (its outbox relayed
/// only by a running replica).
#[derive(Clone, derive_more::Deref)]
pub(crate) struct Backing {
    #[deref]
    shared: common::testing::Backing,
    pub(crate) tickets: Tickets,
}

impl Backing {
    /// A fresh database and namespace, with no replica running yet.
    pub(crate) async fn new() -> Backing {
        let shared = common::testing::Backing::new(access::TICKETS).await;
        let database = shared.database();
        let tickets = Tickets::new(database, Outbox::new(database));
        Backing { shared, tickets }
    }

    /// Starts a replica of the service on a random port.
    pub(crate) async fn spawn_app(&self) -> TestApp {
        let config = Config {
            service: self.service_settings(),
            listener: common::testing::listener_options(),
        };
        let server = tickets::build(config)
            .await
            .expect("the application builds");
        TestApp(common::testing::TestApp::spawn(server, self.clone()))
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
}

/// One running replica of the service, with the tickets requests.
#[derive(derive_more::Deref)]
pub(crate) struct TestApp(common::testing::TestApp<Backing>);

/// A fresh backing with one replica running.
pub(crate) async fn spawn_app() -> TestApp {
    Backing::new().await.spawn_app().await
}

impl TestApp {
    /// `POST /api/tickets` with `body`, signed in with `cookie` if given.
    pub(crate) async fn post_ticket(&self, cookie: Option<&str>, body: Value) -> Response {
        self.post("/api/tickets", cookie, &body).await
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
        self.put(&format!("/api/tickets/{id}"), cookie, &body).await
    }

    /// `GET /api/tickets/:id`.
    pub(crate) async fn get_ticket(&self, id: &str) -> Response {
        self.get(&format!("/api/tickets/{id}"), None).await
    }

    /// `GET /api/tickets`, which must be 200.
    pub(crate) async fn list_tickets(&self) -> Vec<Value> {
        let response = self.get("/api/tickets", None).await;
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
