use serde_json::{Value, json};

use crate::helpers::{cookie_pair, set_cookie, spawn_app};

const CLEARED: &str =
    "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly";

#[tokio::test]
async fn clears_the_cookie_after_signing_out() {
    let app = spawn_app().await;
    let signed_up = app.sign_up("test@test.com", "password").await;
    let cookie = cookie_pair(&set_cookie(&signed_up));
    let response = app
        .post("/api/users/signout", Some(&cookie), &json!({}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(set_cookie(&response), CLEARED);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
}

#[tokio::test]
async fn clears_the_cookie_even_without_a_session() {
    let app = spawn_app().await;
    let signing_out = app.client.post(app.url("/api/users/signout"));
    let response = app.send(signing_out, None).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(set_cookie(&response), CLEARED);
}
