//! The authorization matrix: every endpoint × {anonymous, another user, the owner}.

use super::*;

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Caller {
    Anonymous,
    Other,
    Owner,
}

const CALLERS: [Caller; 3] = [Caller::Anonymous, Caller::Other, Caller::Owner];

/// Every endpoint × {anonymous, another user, the owner}: the status the original gives, and
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
    (
        "POST /api/orders (the owner's ticket)",
        [401, 201, 400],
        "You cannot order your own ticket",
    ),
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
                // Signing out revokes the session it is sent with: a session of its own for
                // the same user, so the cast's go on working for the other cells.
                let cookie = cast.session(caller).map(|user| {
                    if row == "POST /api/users/signout" {
                        hostile::session_for(&user.id, &user.email, common::testing::JWT_KEY)
                    } else {
                        user.cookie.clone()
                    }
                });
                let problem = match api
                    .call(method, &path, cookie.as_deref(), body.as_ref())
                    .await
                {
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
        "{} of {} cells of the authorization matrix disagree with the original:\n{}",
        failures.len(),
        MATRIX.len() * CALLERS.len(),
        failures.join("\n")
    );
}
