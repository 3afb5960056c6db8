//! Seeded bad input on every endpoint: the routes and what each may answer, the cases, and
//! how an answer is judged.

use super::*;

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
        ("title", json!("t".repeat(121))),
        ("price", json!(0.49)),
        ("price", json!(12.345)),
        ("price", json!(1e7)),
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
            bad_requests: Some(vec![
                "Ticket is already reserved",
                "You cannot order your own ticket",
            ]),
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

fn draw_case(
    rng: &mut StdRng,
    index: usize,
    route: &Route,
    world: &World,
    hostile: &[HostileCookie],
) -> Case {
    // Signing out revokes the session it is sent with: a session of its own for the same
    // user, so the world's go on working for the other cases.
    let valid = |who: &'static str, user: &User| Session::Valid {
        who,
        id: user.id.clone(),
        header: if route.template == "/api/users/signout" {
            hostile::session_for(&user.id, &user.email, common::testing::JWT_KEY)
        } else {
            user.cookie.clone()
        },
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

/// What the original says the case must answer, where the case settles it: the status and
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
                "answered {} {}, the original says {status} {errors}",
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

/// The field errors a route gives beyond those of `{}`: a ticket's limits.
fn limit_errors(route: &Route) -> &'static [(&'static str, &'static str)] {
    if route.template.starts_with("/api/tickets") {
        &[
            ("title", "Title must be at most 120 characters"),
            ("price", "Price must be at least 0.50"),
            ("price", "Price must be at most 999999.99"),
            ("price", "Price must have at most two decimal places"),
        ]
    } else {
        &[]
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
            && field_errors.iter().all(|pair| {
                route.empty_errors.contains(pair) || limit_errors(route).contains(pair)
            });
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
