use serde_json::{Value, json};

use auth::limits::LimitSettings;

use crate::helpers::{
    assert_added, assert_errors, cookie_pair, set_cookie, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn fails_when_an_email_that_does_not_exist_is_supplied() {
    let app = spawn_app().await;
    let response = app.sign_in("test@test.com", "password").await;
    assert_errors(response, 400, json!([{ "message": "Invalid credentials" }])).await;
}

#[tokio::test]
async fn fails_when_an_incorrect_password_is_supplied() {
    let app = spawn_app().await;
    app.sign_up("test@test.com", "password").await;
    let response = app.sign_in("test@test.com", "aslkdfjalskdfj").await;
    // One message for both failures: no user enumeration.
    assert_errors(response, 400, json!([{ "message": "Invalid credentials" }])).await;
    assert!(
        app.sign_in("test@test.com", "aslkdfjalskdfj")
            .await
            .headers()
            .get("set-cookie")
            .is_none()
    );
}

#[tokio::test]
async fn responds_with_a_cookie_when_given_valid_credentials() {
    let app = spawn_app().await;
    let signed_up: Value = app
        .sign_up("test@test.com", "password")
        .await
        .json()
        .await
        .unwrap();
    let response = app.sign_in("test@test.com", "password").await;
    assert_eq!(response.status().as_u16(), 200);
    let header = set_cookie(&response);
    assert!(header.starts_with("session=") && header.ends_with("; path=/; samesite=lax; httponly"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, signed_up);

    let current: Value = app
        .current_user(Some(&cookie_pair(&header)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current["currentUser"]["id"], body["id"]);
}

#[tokio::test]
async fn the_email_is_matched_trimmed_and_case_insensitively() {
    let app = spawn_app().await;
    app.sign_up("test@test.com", "password").await;
    assert_eq!(
        app.sign_in(" TEST@test.com ", "password")
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn validates_email_and_password() {
    let app = spawn_app().await;
    let before = app.metrics().await;
    let response = app.sign_in("not-an-email", "   ").await;
    let expected = json!([
        { "message": "Email must be valid", "field": "email" },
        { "message": "You must supply a password", "field": "password" },
    ]);
    assert_errors(response, 400, expected).await;
    // Not an attempt at anyone's account: no outcome is counted.
    assert_added(&before, &app.metrics().await, "signins_total", &[], 0.0);
}

#[tokio::test]
async fn a_burst_of_sign_ins_does_not_stall_other_requests() {
    // Runs on this test's single-threaded runtime: were hashing done on it, the current-user
    // request could not be answered until every queued sign-in had finished. Sixteen sign-ins
    // of one email from one address are over its rate limit: limits off, to measure the queue.
    let app = spawn_app_with(|config| config.limits = LimitSettings::off()).await;
    app.sign_up("burst@test.com", "password").await;
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/users/signin");
            tokio::spawn(async move {
                let body = json!({ "email": "burst@test.com", "password": "password" });
                client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let current = app.current_user(None).await;
    assert_eq!(current.status().as_u16(), 200);
    let still_hashing = burst.iter().filter(|signin| !signin.is_finished()).count();
    assert!(
        still_hashing > 0,
        "the current-user answer waited for the whole burst"
    );
    for signin in burst {
        assert_eq!(signin.await.unwrap(), 200);
    }
}
