//! Bad input on every endpoint, and who may do what.
//!
//! - Fuzzing (`fuzz_*`): a few hundred seeded cases per endpoint of auth, tickets, orders and
//!   payments — JSON bodies of every wrong shape, bodies that are not JSON or not the JSON they
//!   claim, wrong content types, ids that are not ids, broken and forged session cookies. Every
//!   request gets an answer, never a 5xx; every error is the envelope with a message the
//!   contract gives for that endpoint, and exactly the contract's answer where the case
//!   determines it (no valid session on a required-auth route → 401, a malformed body → 400
//!   `"Something went wrong"`, ...); no replica dies. `CHAOS_SEED` replays a run,
//!   `CHAOS_INPUT_CASES` sizes it.
//! - HTTP-level hostility (`oversized_*`, `hostile_requests_*`): bodies over the limit (413 in
//!   the envelope, a gigantic one refused without being read), request targets no URL library
//!   would send, cookies with bytes that are not ASCII.
//! - The authorization matrix (`authorization_matrix`): every endpoint × {anonymous, another
//!   user, the owner} → the contract's status, one table.
//!
//! One fleet serves every test of this binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

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

// ---------------------------------------------------------------------------------------------
// The endpoints and what each may answer.

/// Whether a route wants a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// 401 without one.
    Required,
    /// Reads it if there is one (currentuser).
    Optional,
    /// Ignores it.
    Ignored,
}

/// An endpoint as the fuzzer sees it.
struct Route {
    method: Method,
    /// The path, `{id}` standing for the id.
    template: &'static str,
    auth: Auth,
    /// A body that passes validation, if the route reads one.
    body: Option<Value>,
    /// Values close to valid ones, per field.
    near_misses: Vec<(&'static str, Value)>,
    /// The validation errors of `{}`, in order, as `(field, message)`.
    empty_errors: Vec<(&'static str, &'static str)>,
    /// Ids that exist, for `{id}` (or for the body's id field).
    ids: Vec<String>,
    /// Messages of the 400s the route may give, besides its validation errors and
    /// `"Something went wrong"`; `None` allows any (Stripe's decline messages).
    bad_requests: Option<Vec<&'static str>>,
    /// The statuses the route may answer (besides 400 and 413).
    statuses: Vec<u16>,
}

impl Route {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    fn reads_body(&self) -> bool {
        self.body.is_some()
    }

    fn has_id(&self) -> bool {
        self.template.contains("{id}")
    }
}

fn route(world: &World, name: &str) -> Route {
    let ticket_ids = vec![
        world.owner_ticket.clone(),
        world.other_ticket.clone(),
        world.reserved_ticket.clone(),
    ];
    let order_ids = vec![world.owner_order.clone(), world.other_order.clone()];
    let email_misses = vec![
        ("email", json!(" Padded@Input.Test ")),
        ("email", json!("no-at-sign")),
        ("email", json!("a@b")),
        ("email", json!("a@b.c")),
        ("email", json!(format!("{}@x.io", "l".repeat(300)))),
        ("email", json!(world.owner.email.to_uppercase())),
        ("password", json!("abc")),
        ("password", json!("   abc   ")),
        ("password", json!("x".repeat(21))),
        ("password", json!("ñññññ")),
    ];
    let ticket_misses = vec![
        ("title", json!("")),
        ("title", json!("   ")),
        ("price", json!("12.50")),
        ("price", json!("1e3")),
        ("price", json!(".5")),
        ("price", json!(0)),
        ("price", json!(-10)),
        ("price", json!("0x10")),
        ("price", json!(1e300)),
        ("price", json!(5e-324)),
        ("price", json!("Infinity")),
    ];
    let id_misses = |field: &'static str, ids: &[String]| {
        let mut misses = vec![
            (field, json!("twelve-chars")),
            (field, json!("ñññññññññññ1")),
            (field, json!(ObjectId::new().to_hex())),
            (field, json!("5f1c9a7e2d4b3a001234567")),
            (field, json!({ "$ne": null })),
            (field, json!([ids[0]])),
        ];
        for id in ids {
            misses.push((field, json!(id.to_uppercase())));
            misses.push((field, json!(format!(" {id} "))));
            misses.push((field, json!(id)));
        }
        misses
    };
    let ticket_statuses = |extra: &[u16]| [&[200, 201, 401][..], extra].concat();
    match name {
        "signup" => Route {
            method: Method::POST,
            template: "/api/users/signup",
            auth: Auth::Ignored,
            body: Some(json!({ "email": "fresh@input.test", "password": "password" })),
            near_misses: email_misses,
            empty_errors: vec![
                ("email", "Email must be valid"),
                ("password", "Password must be between 4 and 20 characters"),
            ],
            ids: vec![],
            bad_requests: Some(vec!["Email in use"]),
            statuses: vec![201],
        },
        "signin" => Route {
            method: Method::POST,
            template: "/api/users/signin",
            auth: Auth::Ignored,
            body: Some(json!({ "email": world.owner.email, "password": world.owner.password })),
            near_misses: email_misses,
            empty_errors: vec![
                ("email", "Email must be valid"),
                ("password", "You must supply a password"),
            ],
            ids: vec![],
            bad_requests: Some(vec!["Invalid credentials"]),
            statuses: vec![200],
        },
        "signout" => Route {
            method: Method::POST,
            template: "/api/users/signout",
            auth: Auth::Ignored,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: vec![],
            bad_requests: Some(vec![]),
            statuses: vec![200],
        },
        "currentuser" => Route {
            method: Method::GET,
            template: "/api/users/currentuser",
            auth: Auth::Optional,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: vec![],
            bad_requests: Some(vec![]),
            statuses: vec![200],
        },
        "create ticket" => Route {
            method: Method::POST,
            template: "/api/tickets",
            auth: Auth::Required,
            body: Some(json!({ "title": "concert", "price": 20 })),
            near_misses: ticket_misses,
            empty_errors: vec![
                ("title", "Title is required"),
                ("price", "Price must be greater than 0"),
            ],
            ids: vec![],
            bad_requests: Some(vec![]),
            statuses: vec![201, 401],
        },
        "list tickets" => Route {
            method: Method::GET,
            template: "/api/tickets",
            auth: Auth::Ignored,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: vec![],
            bad_requests: Some(vec![]),
            statuses: vec![200],
        },
        "show ticket" => Route {
            method: Method::GET,
            template: "/api/tickets/{id}",
            auth: Auth::Ignored,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: ticket_ids,
            bad_requests: Some(vec![]),
            statuses: vec![200, 404],
        },
        "update ticket" => Route {
            method: Method::PUT,
            template: "/api/tickets/{id}",
            auth: Auth::Required,
            body: Some(json!({ "title": "edited", "price": 25 })),
            near_misses: ticket_misses,
            empty_errors: vec![
                ("title", "Title is required"),
                ("price", "Price must be provided and must be greater than 0"),
            ],
            ids: ticket_ids,
            bad_requests: Some(vec!["Cannot edit a reserved ticket"]),
            statuses: ticket_statuses(&[404]),
        },
        "create order" => Route {
            method: Method::POST,
            template: "/api/orders",
            auth: Auth::Required,
            body: Some(json!({ "ticketId": world.other_ticket })),
            near_misses: id_misses("ticketId", &ticket_ids),
            empty_errors: vec![
                ("ticketId", "Invalid value"),
                ("ticketId", "TicketId must be provided"),
            ],
            ids: vec![],
            bad_requests: Some(vec!["Ticket is already reserved"]),
            statuses: vec![201, 401, 404],
        },
        "list orders" => Route {
            method: Method::GET,
            template: "/api/orders",
            auth: Auth::Required,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: vec![],
            bad_requests: Some(vec![]),
            statuses: vec![200, 401],
        },
        "show order" => Route {
            method: Method::GET,
            template: "/api/orders/{id}",
            auth: Auth::Required,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: order_ids,
            bad_requests: Some(vec![]),
            statuses: vec![200, 401, 404],
        },
        "cancel order" => Route {
            method: Method::DELETE,
            template: "/api/orders/{id}",
            auth: Auth::Required,
            body: None,
            near_misses: vec![],
            empty_errors: vec![],
            ids: order_ids,
            bad_requests: Some(vec!["Cannot cancel a completed order"]),
            statuses: vec![204, 401, 404],
        },
        "pay" => Route {
            method: Method::POST,
            template: "/api/payments",
            auth: Auth::Required,
            body: Some(json!({ "orderId": world.owner_order, "token": "tok_chargeDeclined" })),
            near_misses: [
                id_misses("orderId", &order_ids),
                vec![
                    ("token", json!("tok_visa")),
                    ("token", json!("tok_chargeDeclinedInsufficientFunds")),
                    ("token", json!("tok_".to_owned() + &"x".repeat(5000))),
                    ("token", json!("tok_visa\r\nIdempotency-Key: x")),
                    ("token", json!("tok_visa&amount=1")),
                ],
            ]
            .concat(),
            empty_errors: vec![("token", "Invalid value"), ("orderId", "Invalid value")],
            ids: vec![],
            // A declined card is 400 with Stripe's message.
            bad_requests: None,
            statuses: vec![201, 401, 404],
        },
        other => panic!("no route {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// The session a case carries.
#[derive(Debug, Clone)]
enum Session {
    None,
    /// A valid session of this user id.
    Valid {
        who: &'static str,
        id: String,
        header: String,
    },
    /// A cookie that must not sign anybody in.
    Hostile(HostileCookie),
}

impl Session {
    fn header(&self) -> Option<&str> {
        match self {
            Session::None => None,
            Session::Valid { header, .. } => Some(header),
            Session::Hostile(cookie) => Some(&cookie.header),
        }
    }

    fn user_id(&self) -> Option<&str> {
        match self {
            Session::Valid { id, .. } => Some(id),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Session::None => "no cookie".to_owned(),
            Session::Valid { who, .. } => format!("{who}'s session"),
            Session::Hostile(cookie) => format!("hostile cookie: {}", cookie.name),
        }
    }
}

/// A case's body.
#[derive(Debug, Clone)]
enum Body {
    None,
    /// Valid for the route.
    Valid(Value),
    /// Derived from a valid one; may or may not pass.
    Mutated(Value),
    /// JSON that is not an object (sent as JSON).
    NotAnObject(Value),
    /// Not JSON at all (sent as JSON).
    Malformed(RawBody),
    /// Any body, sent with a content type that is not JSON: it counts as `{}`.
    WrongType(Vec<u8>),
}

/// The id in a case's path.
#[derive(Debug, Clone)]
enum Id {
    None,
    Real(String),
    Hostile(PathId),
}

#[derive(Debug, Clone)]
struct Case {
    index: usize,
    session: Session,
    id: Id,
    body: Body,
    content_type: &'static str,
}

impl Case {
    fn path(&self, route: &Route) -> String {
        let id = match &self.id {
            Id::None => "",
            Id::Real(id) => id,
            Id::Hostile(id) => &id.segment,
        };
        route.template.replace("{id}", id)
    }

    fn describe(&self, route: &Route) -> String {
        let body = match &self.body {
            Body::None => "no body".to_owned(),
            Body::Valid(value) | Body::Mutated(value) | Body::NotAnObject(value) => {
                shorten(&value.to_string())
            }
            Body::Malformed(raw) => format!("malformed body ({})", raw.name),
            Body::WrongType(bytes) => format!("{} bytes", bytes.len()),
        };
        format!(
            "case {} of {}: {} {}, {}, {body} as {}",
            self.index,
            route.name(),
            route.method,
            shorten(&self.path(route)),
            self.session.describe(),
            self.content_type
        )
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 160 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(160).collect::<String>())
    }
}

fn draw_case(
    rng: &mut StdRng,
    index: usize,
    route: &Route,
    world: &World,
    hostile: &[HostileCookie],
) -> Case {
    let valid = |who: &'static str, user: &User| Session::Valid {
        who,
        id: user.id.clone(),
        header: user.cookie.clone(),
    };
    let session = match rng.random_range(0..20) {
        0..=9 => valid("owner", &world.owner),
        10..=11 => valid("the other user", &world.other),
        12 => {
            let long = "x".repeat(2000);
            let id = *["../../etc", "", long.as_str(), "ñ", "$where"]
                .choose(rng)
                .unwrap();
            Session::Valid {
                who: "an odd but valid id",
                id: id.to_owned(),
                header: hostile::odd_but_valid_cookie(id, common::testing::JWT_KEY),
            }
        }
        13..=14 => Session::None,
        _ => Session::Hostile(hostile.choose(rng).unwrap().clone()),
    };
    let id = if !route.has_id() {
        Id::None
    } else if rng.random_bool(0.5) {
        Id::Real(route.ids.choose(rng).unwrap().clone())
    } else {
        Id::Hostile(hostile::path_id(rng))
    };
    let mut content_type = *hostile::JSON_TYPES.choose(rng).unwrap();
    let body = match &route.body {
        None => match rng.random_range(0..4) {
            0 => Body::None,
            1 => Body::Mutated(hostile::json_body(rng, &json!({ "a": 1 }), &[])),
            2 => Body::Malformed(hostile::malformed_json(rng)),
            _ => {
                content_type = hostile::NOT_JSON_TYPES.choose(rng).unwrap();
                Body::WrongType(b"a=1".to_vec())
            }
        },
        Some(valid) => match rng.random_range(0..20) {
            0..=2 => Body::Valid(valid.clone()),
            3..=13 => {
                let body = hostile::json_body(rng, valid, &route.near_misses);
                if body.is_object() {
                    Body::Mutated(body)
                } else {
                    Body::NotAnObject(body)
                }
            }
            14..=16 => Body::Malformed(hostile::malformed_json(rng)),
            _ => {
                content_type = hostile::NOT_JSON_TYPES.choose(rng).unwrap();
                let bytes = if rng.random() {
                    valid.to_string().into_bytes()
                } else {
                    hostile::malformed_json(rng).bytes
                };
                Body::WrongType(bytes)
            }
        },
    };
    // Fresh emails, so valid sign-ups succeed.
    let body = match body {
        Body::Valid(mut value) | Body::Mutated(mut value)
            if route.template == "/api/users/signup" =>
        {
            if value.get("email") == Some(&json!("fresh@input.test")) {
                value["email"] = json!(format!("fresh-{}@input.test", ObjectId::new().to_hex()));
            }
            if value == *route.body.as_ref().unwrap() {
                Body::Valid(value)
            } else {
                Body::Mutated(value)
            }
        }
        body => body,
    };
    Case {
        index,
        session,
        id,
        body,
        content_type,
    }
}

async fn send(api: &Api, route: &Route, case: &Case) -> Result<Reply, Failure> {
    let bytes = match &case.body {
        Body::None => None,
        Body::Valid(value) | Body::Mutated(value) | Body::NotAnObject(value) => {
            Some(value.to_string().into_bytes())
        }
        Body::Malformed(raw) => Some(raw.bytes.clone()),
        Body::WrongType(bytes) => Some(bytes.clone()),
    };
    api.send(
        route.method.clone(),
        &case.path(route),
        case.session.header(),
        bytes,
        case.content_type,
    )
    .await
}

/// What the contract says the case must answer, where the case settles it: the status and
/// the exact errors of the envelope.
fn determined(route: &Route, case: &Case) -> Option<(u16, Value)> {
    let errors = |pairs: &[(&str, &str)]| {
        Value::Array(
            pairs
                .iter()
                .map(|(field, message)| json!({ "message": message, "field": field }))
                .collect(),
        )
    };
    let message = |message: &str| json!([{ "message": message }]);
    let signed_in = case.session.user_id().is_some();
    if route.auth == Auth::Required && !signed_in {
        return Some((401, message(NOT_AUTHORIZED)));
    }
    if route.reads_body() {
        match &case.body {
            Body::Malformed(_) | Body::NotAnObject(_) => {
                return Some((400, message(SOMETHING_WENT_WRONG)));
            }
            Body::WrongType(..) => return Some((400, errors(&route.empty_errors))),
            Body::Valid(_) => {}
            Body::Mutated(_) | Body::None => return None,
        }
    }
    match &case.id {
        Id::Hostile(PathId {
            kind: IdKind::Malformed,
            ..
        }) => Some((400, message(SOMETHING_WENT_WRONG))),
        Id::Hostile(PathId {
            kind: IdKind::Unknown,
            ..
        }) => Some((404, message("Not Found"))),
        _ => None,
    }
}

/// What is wrong with `reply` to `case`, if anything.
fn judge(route: &Route, case: &Case, reply: &Reply) -> Option<String> {
    if reply.status >= 500 {
        return Some(format!(
            "a server fault: {} {}",
            reply.status,
            shorten(&reply.text)
        ));
    }
    if reply.status >= 400 && !reply.is_envelope() {
        return Some(format!(
            "{} without the envelope: {}",
            reply.status,
            shorten(&reply.text)
        ));
    }
    if let Some((status, errors)) = determined(route, case) {
        if reply.status != status || reply.body["errors"] != errors {
            return Some(format!(
                "answered {} {}, the contract says {status} {errors}",
                reply.status,
                shorten(&reply.text)
            ));
        }
        return None;
    }
    match reply.status {
        400 => allowed_bad_request(route, reply),
        401 if route.auth != Auth::Required => Some("401 on a route without auth".to_owned()),
        401 | 404 => {
            let expected = if reply.status == 401 {
                NOT_AUTHORIZED
            } else {
                "Not Found"
            };
            (reply.message() != Some(expected)
                || reply.body["errors"].as_array().map(Vec::len) != Some(1))
            .then(|| format!("{} with {}", reply.status, shorten(&reply.text)))
        }
        status if route.statuses.contains(&status) => success_problem(route, case, reply),
        status => Some(format!(
            "unexpected status {status}: {}",
            shorten(&reply.text)
        )),
    }
}

/// A 400 must be the route's validation errors, `"Something went wrong"`, or one of its
/// messages.
fn allowed_bad_request(route: &Route, reply: &Reply) -> Option<String> {
    let errors = reply.body["errors"].as_array()?;
    let field_errors: Vec<(&str, &str)> = errors
        .iter()
        .filter_map(|error| Some((error.get("field")?.as_str()?, error["message"].as_str()?)))
        .collect();
    if !field_errors.is_empty() {
        let all_known = field_errors.len() == errors.len()
            && field_errors
                .iter()
                .all(|pair| route.empty_errors.contains(pair));
        return (!all_known).then(|| format!("unknown validation errors {}", reply.text));
    }
    let message = reply.message().unwrap_or_default();
    let known = errors.len() == 1
        && (message == SOMETHING_WENT_WRONG
            || route
                .bad_requests
                .as_ref()
                .is_none_or(|messages| messages.contains(&message)));
    (!known).then(|| format!("unknown 400: {}", shorten(&reply.text)))
}

/// What is wrong with a successful answer: its shape, and whose data it shows.
fn success_problem(route: &Route, case: &Case, reply: &Reply) -> Option<String> {
    let me = case.session.user_id();
    let body = &reply.body;
    let is_id = |value: &Value| {
        value
            .as_str()
            .is_some_and(|id| ObjectId::parse_str(id).is_ok())
    };
    let path_id = match &case.id {
        Id::Real(id) => Some(id.as_str()),
        _ => None,
    };
    let ok = match (route.method.as_str(), route.template) {
        ("POST", "/api/users/signup") => {
            reply.status == 201 && is_id(&body["id"]) && reply.session.is_some()
        }
        ("POST", "/api/users/signin") => {
            body["email"] == json!(signed_in_email(case))
                && is_id(&body["id"])
                && reply.session.is_some()
        }
        ("POST", "/api/users/signout") => *body == json!({}),
        ("GET", "/api/users/currentuser") => match me {
            Some(id) => body["currentUser"]["id"] == json!(id),
            None => *body == json!({ "currentUser": null }),
        },
        ("POST", "/api/tickets") => {
            // Nothing in the body may set the owner, the version or a reservation.
            body["userId"] == json!(me)
                && body["version"] == json!(0)
                && body.get("orderId").is_none()
                && is_id(&body["id"])
        }
        ("GET", "/api/tickets") => body
            .as_array()
            .is_some_and(|tickets| tickets.iter().all(|ticket| ticket.get("orderId").is_none())),
        ("GET", "/api/tickets/{id}") => body["id"] == json!(path_id),
        ("PUT", "/api/tickets/{id}") => {
            body["id"] == json!(path_id)
                && body["userId"] == json!(me)
                && body.get("orderId").is_none()
        }
        ("POST", "/api/orders") => {
            body["userId"] == json!(me) && body["status"] == json!("created")
        }
        ("GET", "/api/orders") => body
            .as_array()
            .is_some_and(|orders| orders.iter().all(|order| order["userId"] == json!(me))),
        ("GET", "/api/orders/{id}") => body["userId"] == json!(me) && body["id"] == json!(path_id),
        ("DELETE", "/api/orders/{id}") => reply.text.is_empty(),
        ("POST", "/api/payments") => is_id(&body["id"]),
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "{} with an unexpected body: {}",
            reply.status,
            shorten(&reply.text)
        )
    })
}

/// The email a sign-in case signs in with, as auth stores it (trimmed, lower case): the
/// owner's, or one the sign-up cases registered.
fn signed_in_email(case: &Case) -> Option<String> {
    match &case.body {
        Body::Valid(body) | Body::Mutated(body) => {
            Some(body["email"].as_str()?.trim().to_lowercase())
        }
        _ => None,
    }
}

fn cases_per_route() -> usize {
    std::env::var("CHAOS_INPUT_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200)
}

/// Runs the seeded cases of `name` against the fleet and fails with every bad answer.
async fn fuzz(name: &str) {
    let fleet = fleet().await;
    let world = world().await;
    let api = Api::new(fleet);
    let route = route(world, name);
    let seed = hostile::seed();
    let mut rng = hostile::rng_for(seed, name);
    let hostile_cookies = hostile::hostile_cookies(
        &world.owner.id,
        &world.owner.email,
        common::testing::JWT_KEY,
    );
    let cases: Vec<Case> = (0..cases_per_route())
        .map(|index| draw_case(&mut rng, index, &route, world, &hostile_cookies))
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    let outcomes: Vec<(Case, Result<Reply, Failure>)> = futures::stream::iter(cases)
        .map(|case| {
            let (api, route) = (&api, &route);
            async move {
                let reply = send(api, route, &case).await;
                (case, reply)
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    let mut failures = Vec::new();
    for (case, outcome) in &outcomes {
        let problem = match outcome {
            Ok(reply) => {
                *statuses.entry(reply.status).or_default() += 1;
                judge(&route, case, reply)
            }
            Err(failure) => Some(format!("no answer (did the replica panic?): {failure}")),
        };
        if let Some(problem) = problem {
            failures.push(format!("{}\n    → {problem}", case.describe(&route)));
        }
    }
    assert_all_alive(fleet).await;
    println!(
        "{}: {} cases, answers {statuses:?} (seed {seed})",
        route.name(),
        outcomes.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases of {} went wrong (CHAOS_SEED={seed}; logs: {}):\n{}",
        failures.len(),
        outcomes.len(),
        route.name(),
        fleet.log().display(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_signup() {
    fuzz("signup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_signin() {
    fuzz("signin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_signout() {
    fuzz("signout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_currentuser() {
    fuzz("currentuser").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_create_ticket() {
    fuzz("create ticket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_list_tickets() {
    fuzz("list tickets").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_show_ticket() {
    fuzz("show ticket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_update_ticket() {
    fuzz("update ticket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_create_order() {
    fuzz("create order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_list_orders() {
    fuzz("list orders").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_show_order() {
    fuzz("show order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_cancel_order() {
    fuzz("cancel order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_pay() {
    fuzz("pay").await;
}

// ---------------------------------------------------------------------------------------------
// HTTP-level hostility, over raw connections: what a URL library or a header map would not send.

/// An answer read off a raw connection.
#[derive(Debug)]
struct RawReply {
    status: u16,
    body: Value,
    text: String,
}

impl RawReply {
    fn is_envelope(&self) -> bool {
        self.body["errors"].as_array().is_some_and(|errors| {
            !errors.is_empty() && errors.iter().all(|e| e["message"].is_string())
        })
    }
}

/// Parses an HTTP/1.1 answer (`Content-Length` or chunked body).
fn parse_answer(bytes: &[u8]) -> Result<RawReply, String> {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "no complete head in {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })?;
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let mut body = bytes[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = body.as_slice();
        while let Some(line_end) = rest.windows(2).position(|window| window == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .unwrap_or(0);
            if size == 0 || rest.len() < line_end + 2 + size {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[(line_end + 4 + size).min(rest.len())..];
        }
        body = decoded;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    Ok(RawReply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    })
}

/// Sends `request` (head and body, as bytes) on a fresh connection to `port` and reads the answer.
async fn raw_request(port: u16, request: &[u8]) -> Result<RawReply, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|error| format!("connecting: {error}"))?;
        stream
            .write_all(request)
            .await
            .map_err(|error| format!("writing: {error}"))?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .map_err(|error| format!("reading: {error}"))?;
        parse_answer(&answer)
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| "no answer within 20 s".to_owned())?
}

fn port_of(fleet: &Fleet, service: &str) -> u16 {
    fleet.replicas(service).next().unwrap().port
}

/// A raw request: service, method, target, extra header lines, and what it must be answered
/// (`None`: anything below 500, in the envelope if an error).
type RawCase = (
    &'static str,
    &'static str,
    String,
    String,
    Option<(u16, &'static str)>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_request_targets_and_headers_get_the_envelope() {
    let fleet = fleet().await;
    let world = world().await;
    let owner = &world.owner.cookie;
    let long_path = format!("/api/tickets/{}", "a".repeat(16 * 1024));
    // (service, method, target, extra header lines, what must be answered: None = any 4xx in the envelope)
    let cases: Vec<RawCase> = vec![
        (
            "tickets",
            "GET",
            "/api/tickets/..".into(),
            String::new(),
            Some((400, SOMETHING_WENT_WRONG)),
        ),
        (
            "tickets",
            "GET",
            "/api/tickets/.".into(),
            String::new(),
            Some((400, SOMETHING_WENT_WRONG)),
        ),
        (
            "tickets",
            "GET",
            "/api/tickets/../users/currentuser".into(),
            String::new(),
            Some((404, "Not Found")),
        ),
        (
            "tickets",
            "GET",
            "/api/tickets/%2e%2e%2f%2e%2e%2fetc%2fpasswd".into(),
            String::new(),
            Some((400, SOMETHING_WENT_WRONG)),
        ),
        (
            "tickets",
            "GET",
            long_path.clone(),
            String::new(),
            Some((400, SOMETHING_WENT_WRONG)),
        ),
        (
            "tickets",
            "GET",
            "/api/tickets/%zz".into(),
            String::new(),
            None,
        ),
        (
            "tickets",
            "GET",
            "/api/tickets//".into(),
            String::new(),
            None,
        ),
        ("tickets", "GET", "*".into(), String::new(), None),
        (
            "tickets",
            "OPTIONS",
            "/api/tickets".into(),
            String::new(),
            Some((404, "Not Found")),
        ),
        (
            "tickets",
            "TRACE",
            "/api/tickets".into(),
            String::new(),
            Some((404, "Not Found")),
        ),
        (
            "tickets",
            "BREW",
            "/api/tickets".into(),
            String::new(),
            Some((404, "Not Found")),
        ),
        (
            "orders",
            "GET",
            "/api/orders".into(),
            "Cookie: session=\u{ff}\u{fe}garbage\r\n".into(),
            Some((401, NOT_AUTHORIZED)),
        ),
        (
            "orders",
            "GET",
            "/api/orders".into(),
            "Cookie: a=1\r\n".repeat(60),
            Some((401, NOT_AUTHORIZED)),
        ),
        (
            "orders",
            "GET",
            "/api/orders".into(),
            format!("Cookie: session={}\r\n", "A".repeat(200 * 1024)),
            None,
        ),
        (
            "payments",
            "POST",
            "/api/payments".into(),
            format!(
                "Cookie: {owner}\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n"
            ),
            None,
        ),
        (
            "auth",
            "POST",
            "/api/users/signin".into(),
            "Content-Type: application/json\r\nContent-Encoding: gzip\r\n".into(),
            Some((400, SOMETHING_WENT_WRONG)),
        ),
        (
            "auth",
            "GET",
            "/api/users/currentuser".into(),
            "Cookie: session=\u{ff}\r\n".into(),
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (service, method, target, headers, expected) in cases {
        let body: &[u8] = if method == "POST" { b"{\"a\":" } else { b"" };
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: ticketing.test\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        // Headers here may hold bytes that are not ASCII: send them as Latin-1 bytes.
        request = String::from_utf8(request)
            .unwrap()
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        request.extend_from_slice(body);
        let name = format!(
            "{method} {} to {service} with {}",
            shorten(&target),
            shorten(&headers.replace("\r\n", "; "))
        );
        match raw_request(port_of(fleet, service), &request).await {
            Err(problem) => failures.push(format!("{name}: {problem}")),
            Ok(reply) if reply.status >= 500 => {
                failures.push(format!("{name}: {} {}", reply.status, reply.text))
            }
            Ok(reply) if reply.status >= 400 && !reply.is_envelope() => failures.push(format!(
                "{name}: {} without the envelope: {:?}",
                reply.status,
                shorten(&reply.text)
            )),
            Ok(reply) => {
                if let Some((status, message)) = expected
                    && (reply.status != status
                        || reply.body["errors"][0]["message"] != json!(message))
                {
                    failures.push(format!(
                        "{name}: {} {}, expected {status} {message}",
                        reply.status, reply.text
                    ));
                }
            }
        }
    }
    assert_all_alive(fleet).await;
    assert!(
        failures.is_empty(),
        "{} hostile requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every route that reads a body, with a valid session so the size is what is judged.
fn body_routes(world: &World) -> Vec<(&'static str, String)> {
    vec![
        ("POST", "/api/users/signup".to_owned()),
        ("POST", "/api/users/signin".to_owned()),
        ("POST", "/api/tickets".to_owned()),
        ("PUT", format!("/api/tickets/{}", world.owner_ticket)),
        ("POST", "/api/orders".to_owned()),
        ("POST", "/api/payments".to_owned()),
    ]
}

/// Every route that ignores its body.
fn bodyless_routes(world: &World) -> Vec<(&'static str, String)> {
    vec![
        ("POST", "/api/users/signout".to_owned()),
        ("GET", "/api/users/currentuser".to_owned()),
        ("GET", "/api/tickets".to_owned()),
        ("GET", format!("/api/tickets/{}", world.owner_ticket)),
        ("GET", "/api/orders".to_owned()),
        ("GET", format!("/api/orders/{}", world.owner_order)),
        (
            "DELETE",
            format!("/api/orders/{}", ObjectId::new().to_hex()),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_in_the_envelope_on_every_route() {
    let fleet = fleet().await;
    let world = world().await;
    let api = Api::new(fleet);
    let mut failures = Vec::new();
    let routes = [body_routes(world), bodyless_routes(world)].concat();
    for (method, path) in routes {
        // Sizes a client's socket buffers take whole: the answer comes before the service
        // closes the connection on the unread rest (gigantic bodies: next test, streamed).
        for (size, content_type) in [
            (BODY_LIMIT + 1, "application/json"),
            (256 * 1024, "application/json"),
            (BODY_LIMIT + 1, "text/plain"),
        ] {
            let filler = "x".repeat(size.saturating_sub(11));
            let body = json!({ "title": filler }).to_string().into_bytes();
            assert!(body.len() > BODY_LIMIT);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let name = format!(
                "{method} {path} with {} bytes of {content_type}",
                body.len()
            );
            match api
                .send(
                    method,
                    &path,
                    Some(&world.owner.cookie),
                    Some(body),
                    content_type,
                )
                .await
            {
                Ok(reply)
                    if reply.status == 413
                        && reply.is_envelope()
                        && reply.message() == Some(TOO_LARGE) => {}
                Ok(reply) => {
                    failures.push(format!("{name}: {} {}", reply.status, shorten(&reply.text)))
                }
                Err(failure) => failures.push(format!("{name}: {failure}")),
            }
        }
    }
    assert_all_alive(fleet).await;
    assert!(
        failures.is_empty(),
        "{} oversized bodies went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Streams a body of `total` bytes (chunked, or with its `Content-Length` declared) until the
/// service answers; the answer and how much of the body was sent by then.
async fn stream_gigantic_body(
    port: u16,
    head: String,
    total: u64,
) -> Result<(RawReply, u64), String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| format!("connecting: {error}"))?;
    let (mut reader, mut writer) = stream.into_split();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let writing = tokio::spawn(async move {
        let mut sent = 0_u64;
        if writer.write_all(head.as_bytes()).await.is_err() {
            return sent;
        }
        let chunk = vec![b' '; 64 * 1024];
        while sent < total {
            let framed = if chunked {
                [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk.clone(),
                    b"\r\n".to_vec(),
                ]
                .concat()
            } else {
                chunk.clone()
            };
            if writer.write_all(&framed).await.is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buffer = vec![0_u8; 16 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    answer.extend_from_slice(&buffer[..read]);
                    if parse_answer(&answer).is_ok_and(|reply| reply.is_envelope()) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    writing.abort();
    let sent = writing.await.unwrap_or(0);
    read.map_err(|_| "no answer within 30 s while the body streamed".to_owned())?;
    Ok((parse_answer(&answer)?, sent))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigantic_body_is_refused_without_being_read() {
    let fleet = fleet().await;
    let world = world().await;
    const GIGABYTES_16: u64 = 16 * 1024 * 1024 * 1024;
    let mut failures = Vec::new();
    let chunked = "Transfer-Encoding: chunked".to_owned();
    let declared = format!("Content-Length: {GIGABYTES_16}");
    let cases = [
        ("tickets", "POST", "/api/tickets", &chunked),
        ("tickets", "POST", "/api/tickets", &declared),
        ("auth", "POST", "/api/users/signup", &chunked),
        ("auth", "POST", "/api/users/signup", &declared),
        ("orders", "POST", "/api/orders", &chunked),
        ("payments", "POST", "/api/payments", &declared),
        // Routes that read no body refuse one over the limit all the same.
        ("tickets", "GET", "/api/tickets", &declared),
        ("tickets", "GET", "/api/tickets", &chunked),
        ("auth", "POST", "/api/users/signout", &declared),
        (
            "orders",
            "DELETE",
            "/api/orders/6b0000000000000000000000",
            &declared,
        ),
    ];
    for (service, method, target, framing) in cases {
        {
            let head = format!(
                "{method} {target} HTTP/1.1\r\nHost: ticketing.test\r\nCookie: {}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n",
                world.owner.cookie
            );
            let name = format!("{method} {target} with {framing}");
            match stream_gigantic_body(port_of(fleet, service), head, GIGABYTES_16).await {
                Ok((reply, sent)) => {
                    if reply.status != 413 || reply.body["errors"][0]["message"] != json!(TOO_LARGE)
                    {
                        failures.push(format!("{name}: {} {}", reply.status, shorten(&reply.text)));
                    }
                    // The service stops reading at the limit; what was sent beyond it sits in
                    // socket buffers. Nothing near the whole body may have been taken in.
                    if sent > 256 * 1024 * 1024 {
                        failures.push(format!(
                            "{name}: {sent} bytes were taken in before the answer"
                        ));
                    }
                }
                Err(problem) => failures.push(format!("{name}: {problem}")),
            }
        }
    }
    assert_all_alive(fleet).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The authorization matrix.

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Caller {
    Anonymous,
    Other,
    Owner,
}

const CALLERS: [Caller; 3] = [Caller::Anonymous, Caller::Other, Caller::Owner];

/// Every endpoint × {anonymous, another user, the owner}: the status the contract gives, and
/// for a 400 its message. "Owner" is the user whose resource it is (the seller of a ticket, the
/// buyer of an order; for auth routes, the user whose credentials or session it is).
const MATRIX: &[(&str, [u16; 3], &str)] = &[
    // row                                           anon  other owner  message of a 400
    ("POST /api/users/signup (a new email)", [201, 201, 201], ""),
    (
        "POST /api/users/signin (the owner's credentials)",
        [200, 200, 200],
        "",
    ),
    ("POST /api/users/signout", [200, 200, 200], ""),
    ("GET /api/users/currentuser", [200, 200, 200], ""),
    ("POST /api/tickets", [401, 201, 201], ""),
    ("GET /api/tickets", [200, 200, 200], ""),
    ("GET /api/tickets/:id", [200, 200, 200], ""),
    ("GET /api/tickets/:id (unknown)", [404, 404, 404], ""),
    ("PUT /api/tickets/:id", [401, 401, 200], ""),
    (
        "PUT /api/tickets/:id (reserved)",
        [401, 401, 400],
        "Cannot edit a reserved ticket",
    ),
    ("PUT /api/tickets/:id (unknown)", [401, 404, 404], ""),
    ("POST /api/orders (the owner's ticket)", [401, 201, 201], ""),
    ("GET /api/orders", [401, 200, 200], ""),
    ("GET /api/orders/:id", [401, 401, 200], ""),
    ("GET /api/orders/:id (unknown)", [401, 404, 404], ""),
    ("DELETE /api/orders/:id", [401, 401, 204], ""),
    (
        "DELETE /api/orders/:id (complete)",
        [401, 401, 400],
        "Cannot cancel a completed order",
    ),
    ("DELETE /api/orders/:id (unknown)", [401, 404, 404], ""),
    ("POST /api/payments", [401, 401, 201], ""),
    (
        "POST /api/payments (cancelled order)",
        [401, 401, 400],
        "Cannot pay for an cancelled order",
    ),
    (
        "POST /api/payments (paid order)",
        [401, 401, 400],
        "Order has already been paid",
    ),
    ("POST /api/payments (unknown order)", [401, 404, 404], ""),
];

/// The people of the matrix: the owner of every resource, another user, and a seller whose
/// tickets the owner buys.
struct Cast {
    owner: User,
    other: User,
    seller: User,
}

impl Cast {
    fn session(&self, caller: Caller) -> Option<&User> {
        match caller {
            Caller::Anonymous => None,
            Caller::Other => Some(&self.other),
            Caller::Owner => Some(&self.owner),
        }
    }
}

/// The request of one cell, with a resource of its own where the call changes it.
async fn cell_request(
    fleet: &Fleet,
    api: &Api,
    cast: &Cast,
    row: &str,
) -> (Method, String, Option<Value>) {
    let unknown = ObjectId::new().to_hex();
    let owners_order = || async {
        order(
            fleet,
            api,
            &cast.owner,
            &ticket_on_sale(fleet, api, &cast.seller).await,
        )
        .await
    };
    match row {
        "POST /api/users/signup (a new email)" => (
            Method::POST,
            "/api/users/signup".into(),
            Some(json!({ "email": format!("{unknown}@matrix.test"), "password": "password" })),
        ),
        "POST /api/users/signin (the owner's credentials)" => (
            Method::POST,
            "/api/users/signin".into(),
            Some(json!({ "email": cast.owner.email, "password": cast.owner.password })),
        ),
        "POST /api/users/signout" => (Method::POST, "/api/users/signout".into(), None),
        "GET /api/users/currentuser" => (Method::GET, "/api/users/currentuser".into(), None),
        "POST /api/tickets" => (
            Method::POST,
            "/api/tickets".into(),
            Some(json!({ "title": "matrix", "price": 10 })),
        ),
        "GET /api/tickets" => (Method::GET, "/api/tickets".into(), None),
        "GET /api/tickets/:id" => {
            let ticket = ticket_on_sale(fleet, api, &cast.owner).await;
            (Method::GET, format!("/api/tickets/{ticket}"), None)
        }
        "GET /api/tickets/:id (unknown)" => (Method::GET, format!("/api/tickets/{unknown}"), None),
        "PUT /api/tickets/:id" => {
            let ticket = ticket_on_sale(fleet, api, &cast.owner).await;
            (
                Method::PUT,
                format!("/api/tickets/{ticket}"),
                Some(json!({ "title": "edited", "price": 11 })),
            )
        }
        "PUT /api/tickets/:id (reserved)" => {
            let ticket = ticket_on_sale(fleet, api, &cast.owner).await;
            order(fleet, api, &cast.seller, &ticket).await;
            reserved(fleet, &ticket).await;
            (
                Method::PUT,
                format!("/api/tickets/{ticket}"),
                Some(json!({ "title": "edited", "price": 11 })),
            )
        }
        "PUT /api/tickets/:id (unknown)" => (
            Method::PUT,
            format!("/api/tickets/{unknown}"),
            Some(json!({ "title": "edited", "price": 11 })),
        ),
        "POST /api/orders (the owner's ticket)" => {
            let ticket = ticket_on_sale(fleet, api, &cast.owner).await;
            (
                Method::POST,
                "/api/orders".into(),
                Some(json!({ "ticketId": ticket })),
            )
        }
        "GET /api/orders" => (Method::GET, "/api/orders".into(), None),
        "GET /api/orders/:id" => (
            Method::GET,
            format!("/api/orders/{}", owners_order().await),
            None,
        ),
        "GET /api/orders/:id (unknown)" => (Method::GET, format!("/api/orders/{unknown}"), None),
        "DELETE /api/orders/:id" => (
            Method::DELETE,
            format!("/api/orders/{}", owners_order().await),
            None,
        ),
        "DELETE /api/orders/:id (complete)" => {
            let order = owners_order().await;
            pay(fleet, api, &cast.owner, &order).await;
            (Method::DELETE, format!("/api/orders/{order}"), None)
        }
        "DELETE /api/orders/:id (unknown)" => {
            (Method::DELETE, format!("/api/orders/{unknown}"), None)
        }
        "POST /api/payments" => {
            let order = owners_order().await;
            (
                Method::POST,
                "/api/payments".into(),
                Some(json!({ "orderId": order, "token": "tok_visa" })),
            )
        }
        "POST /api/payments (cancelled order)" => {
            let order = owners_order().await;
            let reply = call(
                api,
                Method::DELETE,
                &format!("/api/orders/{order}"),
                Some(&cast.owner),
                None,
            )
            .await;
            assert_eq!(reply.status, 204, "{}", reply.text);
            status_in(fleet, "payments", &order, "cancelled").await;
            (
                Method::POST,
                "/api/payments".into(),
                Some(json!({ "orderId": order, "token": "tok_visa" })),
            )
        }
        "POST /api/payments (paid order)" => {
            let order = owners_order().await;
            pay(fleet, api, &cast.owner, &order).await;
            (
                Method::POST,
                "/api/payments".into(),
                Some(json!({ "orderId": order, "token": "tok_mastercard" })),
            )
        }
        "POST /api/payments (unknown order)" => (
            Method::POST,
            "/api/payments".into(),
            Some(json!({ "orderId": unknown, "token": "tok_visa" })),
        ),
        other => panic!("no request for the matrix row {other:?}"),
    }
}

/// Polls the tickets database until `ticket` is reserved.
async fn reserved(fleet: &Fleet, ticket: &str) {
    let tickets = fleet
        .database("tickets")
        .await
        .unwrap()
        .collection::<Document>("tickets");
    let oid = ObjectId::parse_str(ticket).unwrap();
    for _ in 0..400 {
        if tickets
            .find_one(doc! { "_id": oid, "orderId": { "$exists": true } })
            .await
            .unwrap()
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("ticket {ticket} was never reserved");
}

/// Polls `service`'s `orders` collection until `order` has `status`.
async fn status_in(fleet: &Fleet, service: &str, order: &str, status: &str) {
    let orders = fleet
        .database(service)
        .await
        .unwrap()
        .collection::<Document>("orders");
    let oid = ObjectId::parse_str(order).unwrap();
    for _ in 0..400 {
        if orders
            .find_one(doc! { "_id": oid, "status": status })
            .await
            .unwrap()
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("order {order} never became {status} in {service}");
}

/// `buyer` pays for `order`, and orders learns it is complete.
async fn pay(fleet: &Fleet, api: &Api, buyer: &User, order: &str) {
    let body = json!({ "orderId": order, "token": "tok_visa" });
    let reply = call(api, Method::POST, "/api/payments", Some(buyer), Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    status_in(fleet, "orders", order, "complete").await;
}

/// What is wrong with the answer of a cell, beyond its status.
fn cell_problem(
    row: &str,
    caller: Caller,
    cast: &Cast,
    message_400: &str,
    reply: &Reply,
) -> Option<String> {
    let expected_message = match reply.status {
        400 => Some(message_400),
        401 => Some(NOT_AUTHORIZED),
        404 => Some("Not Found"),
        _ => None,
    };
    if let Some(message) = expected_message
        && (!reply.is_envelope() || reply.message() != Some(message))
    {
        return Some(format!("expected the message {message:?}"));
    }
    let me = cast.session(caller).map(|user| user.id.as_str());
    match row {
        "GET /api/users/currentuser" if reply.body["currentUser"]["id"].as_str() != me => {
            Some(format!("currentUser should be {me:?}"))
        }
        "GET /api/orders" if reply.status == 200 => {
            let orders = reply.body.as_array()?;
            if !orders.iter().all(|order| order["userId"].as_str() == me) {
                Some("lists orders of another user".to_owned())
            } else if matches!(caller, Caller::Owner) && orders.is_empty() {
                Some("does not list the owner's order".to_owned())
            } else {
                None
            }
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix() {
    let fleet = fleet().await;
    let api = Api::new(fleet);
    let cast = Cast {
        owner: sign_up(&api, "matrix-owner").await,
        other: sign_up(&api, "matrix-other").await,
        seller: sign_up(&api, "matrix-seller").await,
    };
    // An order of the owner's, so "GET /api/orders" has something to leak.
    order(
        fleet,
        &api,
        &cast.owner,
        &ticket_on_sale(fleet, &api, &cast.seller).await,
    )
    .await;
    let cells = MATRIX.iter().flat_map(|(row, statuses, message)| {
        CALLERS
            .iter()
            .zip(statuses)
            .map(move |(caller, status)| (*row, *caller, *status, *message))
    });
    let outcomes: Vec<Option<String>> = futures::stream::iter(cells)
        .map(|(row, caller, expected, message)| {
            let (fleet, api, cast) = (fleet, &api, &cast);
            async move {
                let (method, path, body) = cell_request(fleet, api, cast, row).await;
                let cookie = cast.session(caller).map(|user| user.cookie.as_str());
                let problem = match api.call(method, &path, cookie, body.as_ref()).await {
                    Err(failure) => Some(format!("no answer: {failure}")),
                    Ok(reply) if reply.status != expected => Some(format!(
                        "answered {}: {}",
                        reply.status,
                        shorten(&reply.text)
                    )),
                    Ok(reply) => cell_problem(row, caller, cast, message, &reply).map(|problem| {
                        format!(
                            "{problem}; answered {} {}",
                            reply.status,
                            shorten(&reply.text)
                        )
                    }),
                };
                problem
                    .map(|problem| format!("{row} as {caller:?} (expected {expected}): {problem}"))
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let failures: Vec<String> = outcomes.into_iter().flatten().collect();
    assert_all_alive(fleet).await;
    assert!(
        failures.is_empty(),
        "{} of {} cells of the authorization matrix disagree with the contract:\n{}",
        failures.len(),
        MATRIX.len() * CALLERS.len(),
        failures.join("\n")
    );
}
