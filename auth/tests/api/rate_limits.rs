//! Sign-in and sign-up rate limits: 429 with `Retry-After` before any hashing, keyed on the
//! normalised email and on the address the ingress saw, never on what the client claims.

use std::time::{Duration, Instant};

use auth::limits::LimitSettings;
use common::client_address::ClientAddressSettings;
use common::rate_limit::LimitSetting;
use common::testing::process::refused_start;
use reqwest::Response;
use serde_json::json;

use common::testing::http::assert_rate_limited;

use crate::helpers::{TestApp, assert_added, assert_errors, spawn_app, spawn_app_with};

async fn assert_invalid_credentials(response: Response) {
    assert_errors(response, 400, json!([{ "message": "Invalid credentials" }])).await;
}

/// An app whose limits are the defaults but for `change`.
async fn spawn_app_limited(change: impl FnOnce(&mut LimitSettings)) -> TestApp {
    spawn_app_with(|config| change(&mut config.limits)).await
}

fn limit(text: &str) -> LimitSetting {
    text.parse().unwrap()
}

#[tokio::test]
async fn fifty_wrong_sign_ins_for_one_email_are_cut_short_and_the_user_still_signs_in_elsewhere() {
    let app = spawn_app().await;
    let signed_up = app
        .sign_up_from("198.51.100.1", "victim@test.com", "right")
        .await;
    assert_eq!(signed_up.status().as_u16(), 201);

    let before = app.metrics().await;
    let started = Instant::now();
    let mut answers = Vec::new();
    for attempt in 0..50 {
        // The email as the attacker types it: the limit keys on the normalised one.
        let email = if attempt % 2 == 0 {
            "victim@test.com"
        } else {
            " VICTIM@Test.com "
        };
        answers.push(app.sign_in_from("203.0.113.7", email, "wrong").await);
    }
    let elapsed = started.elapsed();
    let mut refused = 0;
    for (attempt, answer) in answers.into_iter().enumerate() {
        if attempt < 10 {
            assert_invalid_credentials(answer).await;
        } else {
            let retry_after = assert_rate_limited(answer).await;
            assert!(retry_after <= 60, "{retry_after}");
            refused += 1;
        }
    }
    assert_eq!(refused, 40);
    // Forty refusals without a hash each: the run takes about ten hashes' time.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");

    // The attacker's address is still refused, even with the right password...
    assert_rate_limited(
        app.sign_in_from("203.0.113.7", "victim@test.com", "right")
            .await,
    )
    .await;
    // ...but the user, from another address, signs in.
    let user = app
        .sign_in_from("192.0.2.44", " Victim@test.com", "right")
        .await;
    assert_eq!(user.status().as_u16(), 200);

    // Ten wrong passwords, forty-one refusals, one sign-in.
    let after = app.metrics().await;
    let outcomes = [("failure", 10.0), ("rate_limited", 41.0), ("success", 1.0)];
    for (outcome, count) in outcomes {
        let label = format!("outcome=\"{outcome}\"");
        assert_added(&before, &after, "signins_total", &[&label], count);
    }
}

#[tokio::test]
async fn an_email_is_limited_across_every_address() {
    let app = spawn_app_limited(|limits| limits.per_email = limit("3 then 1/1h")).await;
    app.sign_up("spread@test.com", "right").await;
    for index in 1..=3 {
        let address = format!("203.0.113.{index}");
        assert_invalid_credentials(app.sign_in_from(&address, "spread@test.com", "wrong").await)
            .await;
    }
    assert_rate_limited(
        app.sign_in_from("203.0.113.99", "spread@test.com", "right")
            .await,
    )
    .await;
    // Another email is unaffected.
    app.sign_up("other@test.com", "right").await;
    let other = app
        .sign_in_from("203.0.113.99", "other@test.com", "right")
        .await;
    assert_eq!(other.status().as_u16(), 200);
}

#[tokio::test]
async fn sign_ups_and_sign_ins_share_a_limit_per_address() {
    let app = spawn_app_limited(|limits| limits.per_address = limit("3 then 1/1h")).await;
    for index in 0..3 {
        let email = format!("user{index}@test.com");
        let response = app.sign_up_from("203.0.113.5", &email, "password").await;
        assert_eq!(response.status().as_u16(), 201);
    }
    assert_rate_limited(
        app.sign_up_from("203.0.113.5", "user3@test.com", "password")
            .await,
    )
    .await;
    assert_rate_limited(
        app.sign_in_from("203.0.113.5", "user0@test.com", "password")
            .await,
    )
    .await;
    assert_eq!(app.user_count().await, 3);

    let elsewhere = app
        .sign_up_from("203.0.113.6", "user3@test.com", "password")
        .await;
    assert_eq!(elsewhere.status().as_u16(), 201);
    assert_eq!(app.user_count().await, 4);
}

#[tokio::test]
async fn ipv6_addresses_of_one_64_share_a_limit() {
    let app = spawn_app_limited(|limits| limits.per_address = limit("2 then 1/1h")).await;
    for (index, address) in ["2001:db8:7:7::1", "2001:db8:7:7:ffff::2"]
        .iter()
        .enumerate()
    {
        let email = format!("v6-{index}@test.com");
        let response = app.sign_up_from(address, &email, "password").await;
        assert_eq!(response.status().as_u16(), 201);
    }
    assert_rate_limited(
        app.sign_up_from("2001:db8:7:7::3", "v6-2@test.com", "password")
            .await,
    )
    .await;
    let next_network = app
        .sign_up_from("2001:db8:7:8::1", "v6-3@test.com", "password")
        .await;
    assert_eq!(next_network.status().as_u16(), 201);
}

#[tokio::test]
async fn forwarded_for_first_hops_do_not_dodge_the_limit() {
    let app = spawn_app_limited(|limits| limits.per_email_and_address = limit("3 then 1/1h")).await;
    app.sign_up("spoof@test.com", "right").await;
    let attempt = |spoofed: String, real_ip: Option<&'static str>| {
        let app = &app;
        async move {
            // What the ingress passes on: the client's header with the peer it saw appended,
            // and X-Real-IP set to that peer (or not, for the X-Forwarded-For fallback).
            let (forwarded, real) = match real_ip {
                Some(real) => (format!("{spoofed}, {real}"), Some(real)),
                None => (format!("{spoofed}, 203.0.113.20"), None),
            };
            let mut headers = vec![("x-forwarded-for", forwarded.as_str())];
            if let Some(real) = real {
                headers.push(("x-real-ip", real));
            }
            app.post_credentials_with("/api/users/signin", "spoof@test.com", "wrong", &headers)
                .await
        }
    };
    for round in 0..3 {
        let spoofed = format!("10.9.{round}.1, 172.16.0.{round}");
        assert_invalid_credentials(attempt(spoofed, Some("203.0.113.10")).await).await;
    }
    assert_rate_limited(attempt("10.9.9.9".to_owned(), Some("203.0.113.10")).await).await;

    for round in 0..3 {
        assert_invalid_credentials(attempt(format!("192.0.2.{round}"), None).await).await;
    }
    assert_rate_limited(attempt("192.0.2.200".to_owned(), None).await).await;
}

#[tokio::test]
async fn without_a_trusted_proxy_the_tcp_peer_is_the_address() {
    let app = spawn_app_with(|config| {
        config.limits.per_address = limit("2 then 1/1h");
        config.client_addresses = ClientAddressSettings {
            trust_proxy: false,
            ..ClientAddressSettings::default()
        };
    })
    .await;
    for index in 0..2 {
        let response = app
            .sign_up_from(
                &format!("203.0.113.{index}"),
                &format!("p{index}@test.com"),
                "password",
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
    }
    assert_rate_limited(
        app.sign_up_from("203.0.113.77", "p2@test.com", "password")
            .await,
    )
    .await;
}

#[tokio::test]
async fn limits_set_to_off_never_refuse() {
    let app = spawn_app_with(|config| config.limits = LimitSettings::off()).await;
    app.sign_up("many@test.com", "right").await;
    for _ in 0..12 {
        assert_invalid_credentials(app.sign_in("many@test.com", "wrong").await).await;
    }
}

#[test]
fn a_malformed_limit_setting_stops_the_service_naming_it() {
    let stderr = refused_start(
        env!("CARGO_BIN_EXE_auth"),
        &[
            ("JWT_KEY", common::testing::JWT_KEY),
            ("MONGO_URI", "mongodb://127.0.0.1:1/auth"),
            ("RATE_LIMIT_SIGN_IN_PER_EMAIL", "lots"),
        ],
    );
    assert!(
        stderr.contains("RATE_LIMIT_SIGN_IN_PER_EMAIL is not valid"),
        "{stderr}"
    );
}
