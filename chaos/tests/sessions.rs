//! Sessions that end early, through the real fleet (two replicas of auth, tickets, orders and
//! payments, each a process of its own): a signed-out cookie and a banned user's cookie are
//! refused by every replica of every service within a second, and a replica started after the
//! ban refuses it on its first request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chaos::{ADMIN_EMAIL, Api, Fleet, FleetOptions};
use mongodb::bson::oid::ObjectId;
use reqwest::Method;
use serde_json::json;

/// One request per service that needs a session: 401 without one.
const NEEDS_A_SESSION: [(&str, Method, &str); 3] = [
    ("tickets", Method::POST, "/api/tickets"),
    ("orders", Method::GET, "/api/orders"),
    ("payments", Method::POST, "/api/payments"),
];

async fn fleet() -> Fleet {
    let options =
        FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "sessions").with_replicas("auth", 2);
    Fleet::start(options).await.unwrap()
}

/// Whether every replica of every service takes `cookie` as a session right now.
async fn accepted_everywhere(api: &Api, http: &reqwest::Client, cookie: &str) -> Vec<bool> {
    let mut answers = Vec::new();
    for base in api.urls("auth") {
        let reply = http
            .get(format!("{base}/api/users/currentuser"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = reply.json().await.unwrap();
        answers.push(!body["currentUser"].is_null());
    }
    for (service, method, path) in NEEDS_A_SESSION {
        for base in api.urls(service) {
            let status = http
                .request(method.clone(), format!("{base}{path}"))
                .header("cookie", cookie)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            answers.push(status != 401);
        }
    }
    answers
}

/// Waits up to a second until no replica takes `cookie`; panics with the answers otherwise.
async fn refused_everywhere_within_a_second(api: &Api, http: &reqwest::Client, cookie: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let answers = accepted_everywhere(api, http, cookie).await;
        if answers.iter().all(|accepted| !accepted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still accepted after a second: {answers:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_and_banned_sessions_end_on_every_replica_within_a_second() {
    let fleet = fleet().await;
    let api = Api::new(&fleet);
    let http = reqwest::Client::new();
    let email = |name: &str| format!("{name}-{}@sessions.test", ObjectId::new().to_hex());

    // Signing out ends that token everywhere.
    let (kept, _) = api.sign_up(&email("leaver"), "password").await.unwrap();
    assert!(
        accepted_everywhere(&api, &http, &kept)
            .await
            .iter()
            .all(|a| *a)
    );
    let reply = api
        .answer(Method::POST, "/api/users/signout", &kept, Some(json!({})))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    refused_everywhere_within_a_second(&api, &http, &kept).await;

    // A ban ends every token of the user everywhere.
    let (admin, _) = api.sign_up(ADMIN_EMAIL, "password").await.unwrap();
    let (user, user_id) = api.sign_up(&email("abuser"), "password").await.unwrap();
    assert!(
        accepted_everywhere(&api, &http, &user)
            .await
            .iter()
            .all(|a| *a)
    );
    let reply = api
        .answer(
            Method::POST,
            &format!("/api/users/{user_id}/ban"),
            &admin,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    refused_everywhere_within_a_second(&api, &http, &user).await;

    // A replica started after the ban refuses it on its first request.
    let index = fleet.index_of("tickets", 0).unwrap();
    fleet.kill(index).await.unwrap();
    fleet.restart(index).await.unwrap();
    let base = &fleet.members()[index].url();
    let first = http
        .post(format!("{base}/api/tickets"))
        .header("cookie", &user)
        .json(&json!({ "title": "t", "price": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 401);
    // The admin's own session is untouched.
    assert!(
        accepted_everywhere(&api, &http, &admin)
            .await
            .iter()
            .all(|a| *a)
    );
}
