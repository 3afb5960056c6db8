//! The orders service's seeders and requests; the harness itself is `common::testing`.

use std::time::Duration;

use common::bus::access;
use common::events::{
    ExpirationComplete, OrderCancelled, OrderStatus, PaymentCreated, TicketCreated, TicketRef,
    TicketUpdated,
};
use common::outbox::Outbox;
use common::testing::events::eventually;
use common::testing::signed_in_user;
use mongodb::bson::oid::ObjectId;
use orders::Config;
use orders::config::DEFAULT_MAX_UNPAID_ORDERS;
use orders::models::{OrderDocument, OrderRules, Orders, TicketDocument, Tickets};
use reqwest::Response;
use serde_json::{Value, json};

pub(crate) use common::testing::http::{assert_errors, assert_message};

/// How long a test order waits for payment.
pub(crate) const EXPIRATION_WINDOW: Duration = Duration::from_secs(60);

/// One test's database and bus namespace, with the orders models over them (their outbox
/// relayed only by a running replica).
#[derive(Clone, derive_more::Deref)]
pub(crate) struct Backing {
    #[deref]
    shared: common::testing::Backing,
    pub(crate) tickets: Tickets,
    pub(crate) orders: Orders,
}

impl Backing {
    /// A fresh database and namespace, with no replica running yet.
    pub(crate) async fn new() -> Backing {
        let shared = common::testing::Backing::new(access::ORDERS).await;
        let database = shared.database();
        let tickets = Tickets::new(database);
        let rules = OrderRules {
            expiration_window: EXPIRATION_WINDOW,
            max_unpaid: DEFAULT_MAX_UNPAID_ORDERS,
        };
        let orders = Orders::new(database, tickets.clone(), Outbox::new(database), rules);
        Backing {
            shared,
            tickets,
            orders,
        }
    }

    /// Starts a replica of the service on a random port.
    pub(crate) async fn spawn_app(&self) -> TestApp {
        let config = Config {
            service: self.service_settings(),
            listener: common::testing::listener_options(),
            expiration_window: EXPIRATION_WINDOW,
            max_unpaid_orders: DEFAULT_MAX_UNPAID_ORDERS,
        };
        let server = orders::build(config).await.expect("the application builds");
        TestApp(common::testing::TestApp::spawn(server, self.clone()))
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
}

/// One running replica of the service, with the orders requests.
#[derive(derive_more::Deref)]
pub(crate) struct TestApp(common::testing::TestApp<Backing>);

/// A fresh backing with one replica running.
pub(crate) async fn spawn_app() -> TestApp {
    Backing::new().await.spawn_app().await
}

impl TestApp {
    /// `POST /api/orders` with `body`.
    pub(crate) async fn post_order(&self, cookie: Option<&str>, body: Value) -> Response {
        self.post("/api/orders", cookie, &body).await
    }

    /// `GET /api/orders`.
    pub(crate) async fn list_orders(&self, cookie: Option<&str>) -> Response {
        self.get("/api/orders", cookie).await
    }

    /// `GET /api/orders/:id`.
    pub(crate) async fn show_order(&self, cookie: Option<&str>, id: &str) -> Response {
        self.get(&format!("/api/orders/{id}"), cookie).await
    }

    /// `DELETE /api/orders/:id`.
    pub(crate) async fn cancel_order(&self, cookie: Option<&str>, id: &str) -> Response {
        self.delete(&format!("/api/orders/{id}"), cookie).await
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

pub(crate) use common::testing::assert_added;
