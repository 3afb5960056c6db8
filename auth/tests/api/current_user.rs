use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{cookie_pair, set_cookie, spawn_app};

#[tokio::test]
async fn responds_with_details_about_the_current_user() {
    let app = spawn_app().await;
    let signed_up = app.sign_up("test@test.com", "password").await;
    let cookie = cookie_pair(&set_cookie(&signed_up));
    let user: Value = signed_up.json().await.unwrap();
    let response = app.current_user(Some(&cookie)).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let current = &body["currentUser"];
    assert_eq!(current["email"], "test@test.com");
    assert_eq!(current["id"], user["id"]);
    // The whole payload is echoed, iat and exp included.
    assert!(current["iat"].is_u64() && current["exp"].is_u64(), "{body}");
}

#[tokio::test]
async fn responds_with_null_if_not_authenticated() {
    let app = spawn_app().await;
    let response = app.current_user(None).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "currentUser": null })
    );
}

#[tokio::test]
async fn responds_with_null_for_any_bad_session() {
    let app = spawn_app().await;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let url_b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let sign = |claims: Value, key: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let far_future = 4_102_444_800_u64; // 2100-01-01
    let wrong_key = sign(
        json!({ "id": "1", "email": "a@b.co", "iat": 1, "exp": far_future }),
        "not-the-key",
    );
    let expired = sign(
        json!({ "id": "1", "email": "a@b.co", "iat": 1, "exp": 2 }),
        common::testing::JWT_KEY,
    );
    let unsigned = format!(
        "{}.{}.",
        url_b64(r#"{"alg":"none","typ":"JWT"}"#),
        url_b64(&format!(
            r#"{{"id":"1","email":"a@b.co","iat":1,"exp":{far_future}}}"#
        ))
    );
    let session = |jwt: &str| format!("session={}", b64(&format!(r#"{{"jwt":"{jwt}"}}"#)));
    for cookie in [
        "session=!!!not-base64!!!".to_owned(),
        format!("session={}", b64("not json")),
        session("not.a.jwt"),
        session(&wrong_key),
        session(&expired),
        session(&unsigned),
    ] {
        let response = app.current_user(Some(&cookie)).await;
        assert_eq!(response.status().as_u16(), 200, "{cookie}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "currentUser": null }),
            "{cookie}"
        );
    }
}

#[tokio::test]
async fn accepts_a_cookie_built_like_the_original_tests_build_it() {
    // Buffer.from(JSON.stringify({jwt})).toString('base64'), here without padding and url-safe too.
    let app = spawn_app().await;
    let (id, cookie) = common::testing::signed_in_user();
    let jwt = crate::helpers::jwt_of(&cookie);
    let json = format!(r#"{{"jwt":"{jwt}"}}"#);
    let unpadded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let body: Value = app
        .current_user(Some(&format!("session={unpadded}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["currentUser"]["id"], id);
}
