//! Bad input on every endpoint, and who may do what.
//!
//! - Fuzzing ([`fuzz`], one test per endpoint): a few hundred seeded cases per endpoint of auth, tickets, orders and
//!   payments — JSON bodies of every wrong shape, bodies that are not JSON or not the JSON they
//!   claim, wrong content types, ids that are not ids, broken and forged session cookies. Every
//!   request gets an answer, never a 5xx; every error is the envelope with a message the
//!   original gives for that endpoint, and exactly the original's answer where the case
//!   determines it (no valid session on a required-auth route → 401, a malformed body → 400
//!   `"Something went wrong"`, ...); no replica dies. `CHAOS_SEED` replays a run,
//!   `CHAOS_INPUT_CASES` sizes it.
//! - HTTP-level hostility ([`http`], over raw connections): bodies over the limit (413 in the
//!   envelope on every route, a gigantic one refused without being read), request targets no
//!   URL library would send, cookies with bytes that are not ASCII.
//! - The authorization matrix ([`matrix`]): every endpoint × {anonymous, another user, the
//!   owner} → the original's status, one table.
//!
//! One fleet, and one world of users, tickets and orders ([`World`]), serve every test of this
//! binary; this file holds them and the helpers the three parts share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "input/fuzz.rs"]
mod fuzz;
#[path = "input/http.rs"]
mod http;
#[path = "input/matrix.rs"]
mod matrix;

use std::collections::BTreeMap;
use std::time::Duration;

use chaos::hostile::{self, HostileCookie, IdKind, PathId, RawBody};
use chaos::{Api, Failure, Fleet, FleetOptions, Reply};
use futures::StreamExt as _;
use mongodb::bson::{Document, doc, oid::ObjectId};
use rand::Rng as _;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::OnceCell;

const SOMETHING_WENT_WRONG: &str = "Something went wrong";
const NOT_AUTHORIZED: &str = "Not authorized";
const TOO_LARGE: &str = "Request body is too large";
/// The services' body limit (`common::server::BODY_LIMIT_BYTES`).
const BODY_LIMIT: usize = common::server::BODY_LIMIT_BYTES;

static FLEET: OnceCell<Fleet> = OnceCell::const_new();
static WORLD: OnceCell<World> = OnceCell::const_new();

async fn fleet() -> &'static Fleet {
    FLEET
        .get_or_init(|| async {
            let options = FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "input");
            Fleet::start(options).await.unwrap()
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// The world the cases run in: two users and what they own.

/// A signed-up user.
#[derive(Debug, Clone)]
struct User {
    id: String,
    email: String,
    password: String,
    cookie: String,
}

/// Two users, their tickets and orders, made once for every test.
#[derive(Debug)]
struct World {
    owner: User,
    other: User,
    /// The owner's ticket, for sale.
    owner_ticket: String,
    /// The other user's ticket, for sale.
    other_ticket: String,
    /// The owner's ticket, reserved by the other user's order.
    reserved_ticket: String,
    /// The owner's order (of another ticket of the other user's).
    owner_order: String,
    /// The other user's order (of `reserved_ticket`).
    other_order: String,
}

async fn world() -> &'static World {
    WORLD
        .get_or_init(|| async {
            let fleet = fleet().await;
            let api = Api::new(fleet);
            let owner = sign_up(&api, "owner").await;
            let other = sign_up(&api, "other").await;
            let owner_ticket = ticket_on_sale(fleet, &api, &owner).await;
            let other_ticket = ticket_on_sale(fleet, &api, &other).await;
            let reserved_ticket = ticket_on_sale(fleet, &api, &owner).await;
            let ordered_ticket = ticket_on_sale(fleet, &api, &other).await;
            let other_order = order(fleet, &api, &other, &reserved_ticket).await;
            let owner_order = order(fleet, &api, &owner, &ordered_ticket).await;
            World {
                owner,
                other,
                owner_ticket,
                other_ticket,
                reserved_ticket,
                owner_order,
                other_order,
            }
        })
        .await
}

async fn sign_up(api: &Api, who: &str) -> User {
    let email = format!("{who}-{}@input.test", ObjectId::new().to_hex());
    let password = "password".to_owned();
    let (cookie, id) = api.sign_up(&email, &password).await.unwrap();
    User {
        id,
        email,
        password,
        cookie,
    }
}

async fn call(
    api: &Api,
    method: Method,
    path: &str,
    user: Option<&User>,
    body: Option<Value>,
) -> Reply {
    let cookie = user.map(|user| user.cookie.as_str());
    api.call(method.clone(), path, cookie, body.as_ref())
        .await
        .unwrap_or_else(|failure| panic!("{method} {path}: {failure}"))
}

/// Polls `service`'s database until `collection` holds `id` (replicated through the bus).
async fn replicated(fleet: &Fleet, service: &str, collection: &str, id: &str) {
    let documents = fleet
        .database(service)
        .await
        .unwrap()
        .collection::<Document>(collection);
    let oid = ObjectId::parse_str(id).unwrap();
    for _ in 0..400 {
        if documents
            .find_one(doc! { "_id": oid })
            .await
            .unwrap()
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id} never reached {service}'s {collection}");
}

/// A ticket of `seller`'s for sale, known to orders.
async fn ticket_on_sale(fleet: &Fleet, api: &Api, seller: &User) -> String {
    let body = json!({ "title": "hostile input", "price": 20 });
    let reply = call(api, Method::POST, "/api/tickets", Some(seller), Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.str("id").unwrap().to_owned();
    replicated(fleet, "orders", "tickets", &id).await;
    id
}

/// `buyer`'s order of `ticket`, known to payments.
async fn order(fleet: &Fleet, api: &Api, buyer: &User, ticket: &str) -> String {
    let body = json!({ "ticketId": ticket });
    let reply = call(api, Method::POST, "/api/orders", Some(buyer), Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.str("id").unwrap().to_owned();
    replicated(fleet, "payments", "orders", &id).await;
    id
}

/// Fails unless every replica still runs (a panic that kills a process shows here).
async fn assert_all_alive(fleet: &Fleet) {
    for (index, member) in fleet.members().iter().enumerate() {
        assert!(
            fleet.pid(index).await.unwrap().is_some(),
            "{} is no longer running (logs: {})",
            member.label(),
            fleet.log().display()
        );
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 160 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(160).collect::<String>())
    }
}
