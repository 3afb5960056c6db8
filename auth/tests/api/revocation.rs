//! Sessions that end early: signing out revokes the token itself, an admin's ban locks a user
//! out, and a replica started later knows both before its first answer.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, TestApp, assert_errors, cookie_pair, set_cookie, spawn_app_with};

/// `app`'s answer to `method path` with `cookie`.
async fn call(app: &TestApp, method: Method, path: &str, cookie: &str) -> reqwest::Response {
    let request = app.client.request(method, app.url(path)).json(&json!({}));
    app.send(request, Some(cookie)).await
}

/// The `currentUser` `cookie` gets.
async fn current_user(app: &TestApp, cookie: &str) -> Value {
    let body: Value = app.current_user(Some(cookie)).await.json().await.unwrap();
    body["currentUser"].clone()
}

/// Waits up to a second for `cookie` to stop being a session at `app`; true if it did.
async fn refused_within_a_second(app: &TestApp, cookie: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if current_user(app, cookie).await.is_null() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs up `email` and returns its cookie and id.
async fn signed_up(app: &TestApp, email: &str) -> (String, String) {
    let response = app.sign_up(email, "password").await;
    assert_eq!(response.status().as_u16(), 201);
    let cookie = cookie_pair(&set_cookie(&response));
    let body: Value = response.json().await.unwrap();
    (cookie, body["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_signed_out_cookie_is_no_session_even_when_kept() {
    let bus = common::testing::bus_settings();
    let app = spawn_app_with(|config| config.service.bus = bus.clone()).await;
    let (kept, _) = signed_up(&app, "keeper@test.com").await;
    let other = cookie_pair(&set_cookie(
        &app.sign_in("keeper@test.com", "password").await,
    ));
    let claims = current_user(&app, &kept).await;
    assert_eq!(claims["jti"].as_str().map(str::len), Some(24), "{claims}");

    let response = call(&app, Method::POST, "/api/users/signout", &kept).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(refused_within_a_second(&app, &kept).await);
    // Only that token: the same user's other session goes on.
    assert_eq!(current_user(&app, &other).await["email"], "keeper@test.com");

    // A replica started now refuses it on its first answer.
    let later = spawn_app_with(|config| config.service.bus = bus.clone()).await;
    assert!(current_user(&later, &kept).await.is_null());
    assert_eq!(
        current_user(&later, &other).await["email"],
        "keeper@test.com"
    );
}

#[tokio::test]
async fn an_admin_bans_a_user_out_of_every_session_and_lets_them_back() {
    let bus = common::testing::bus_settings();
    let app = spawn_app_with(|config| config.service.bus = bus.clone()).await;
    let (admin, _) = signed_up(&app, ADMIN).await;
    let (user, user_id) = signed_up(&app, "user@test.com").await;
    let ban = format!("/api/users/{user_id}/ban");

    // Only an admin may; only a user that exists can be banned.
    for cookie in [user.as_str(), "session=nothing"] {
        let response = call(&app, Method::POST, &ban, cookie).await;
        assert_errors(response, 401, json!([{ "message": "Not authorized" }])).await;
    }
    let unknown = call(
        &app,
        Method::POST,
        "/api/users/aaaaaaaaaaaaaaaaaaaaaaaa/ban",
        &admin,
    )
    .await;
    assert_errors(unknown, 404, json!([{ "message": "Not Found" }])).await;
    assert_eq!(current_user(&app, &user).await["email"], "user@test.com");

    let response = call(&app, Method::POST, &ban, &admin).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "email": "user@test.com", "id": user_id, "banned": true })
    );
    assert!(refused_within_a_second(&app, &user).await);
    let refused = app.sign_in("user@test.com", "password").await;
    assert_errors(
        refused,
        400,
        json!([{ "message": "This account has been banned" }]),
    )
    .await;
    // A wrong password still says only that.
    let wrong = app.sign_in("user@test.com", "wrong").await;
    assert_errors(wrong, 400, json!([{ "message": "Invalid credentials" }])).await;
    // A replica started during the ban refuses the old cookie at once.
    let later = spawn_app_with(|config| config.service.bus = bus.clone()).await;
    assert!(current_user(&later, &user).await.is_null());

    // Lifting it: the user signs in again; the cookie from before the ban stays dead.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let response = call(&app, Method::DELETE, &ban, &admin).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["banned"], false);
    let signed_in = app.sign_in("user@test.com", "password").await;
    assert_eq!(signed_in.status().as_u16(), 200);
    let fresh = cookie_pair(&set_cookie(&signed_in));
    assert_eq!(current_user(&later, &fresh).await["email"], "user@test.com");
    assert!(current_user(&later, &user).await.is_null());
}
