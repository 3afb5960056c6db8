use serde_json::{Value, json};

use crate::helpers::{assert_errors, cookie_pair, jwt_of, set_cookie, spawn_app};

#[tokio::test]
async fn returns_a_201_on_successful_signup() {
    let app = spawn_app().await;
    let response = app.sign_up("test@test.com", "password").await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 2, "only email and id: {body}");
    assert_eq!(body["email"], "test@test.com");
    let id = body["id"].as_str().unwrap();
    assert!(
        id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
}

#[tokio::test]
async fn returns_a_400_with_an_invalid_email() {
    let app = spawn_app().await;
    let response = app.sign_up("alskdflaskjfd", "password").await;
    assert_errors(
        response,
        400,
        json!([{ "message": "Email must be valid", "field": "email" }]),
    )
    .await;
}

#[tokio::test]
async fn returns_a_400_with_an_invalid_password() {
    let app = spawn_app().await;
    let too_long = "a".repeat(21);
    for password in ["p", "   p   ", too_long.as_str()] {
        let response = app.sign_up("test@test.com", password).await;
        let expected = json!([{
            "message": "Password must be between 4 and 20 characters", "field": "password"
        }]);
        assert_errors(response, 400, expected).await;
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn returns_a_400_with_missing_email_and_password() {
    let app = spawn_app().await;
    let missing_password = app
        .post_json("/api/users/signup", json!({ "email": "test@test.com" }))
        .await;
    assert_errors(
        missing_password,
        400,
        json!([{ "message": "Password must be between 4 and 20 characters", "field": "password" }]),
    )
    .await;
    let missing_email = app
        .post_json("/api/users/signup", json!({ "password": "alskjdf" }))
        .await;
    assert_errors(
        missing_email,
        400,
        json!([{ "message": "Email must be valid", "field": "email" }]),
    )
    .await;
}

#[tokio::test]
async fn reports_every_failed_field_in_declaration_order() {
    let app = spawn_app().await;
    let expected = json!([
        { "message": "Email must be valid", "field": "email" },
        { "message": "Password must be between 4 and 20 characters", "field": "password" },
    ]);
    assert_errors(
        app.post_json("/api/users/signup", json!({})).await,
        400,
        expected.clone(),
    )
    .await;
    // Wrong types are validation failures, not parse errors.
    let wrong_types = json!({ "email": 42, "password": ["secret"] });
    assert_errors(
        app.post_json("/api/users/signup", wrong_types).await,
        400,
        expected.clone(),
    )
    .await;
    // A body that is not declared JSON is read as {} (body-parser's rule).
    let form = app
        .client
        .post(app.url("/api/users/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=test%40test.com&password=password")
        .send()
        .await
        .unwrap();
    assert_errors(form, 400, expected).await;
}

#[tokio::test]
async fn disallows_duplicate_emails() {
    let app = spawn_app().await;
    assert_eq!(
        app.sign_up("test@test.com", "password")
            .await
            .status()
            .as_u16(),
        201
    );
    let again = app.sign_up("test@test.com", "password").await;
    assert_errors(again, 400, json!([{ "message": "Email in use" }])).await;
}

#[tokio::test]
async fn emails_are_trimmed_and_case_insensitive() {
    let app = spawn_app().await;
    let first = app.sign_up("  Test@Test.COM ", "password").await;
    assert_eq!(first.status().as_u16(), 201);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["email"], "test@test.com");
    let again = app.sign_up("test@test.com", "password").await;
    assert_errors(again, 400, json!([{ "message": "Email in use" }])).await;
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn concurrent_signups_with_one_email_create_one_user() {
    let app = spawn_app().await;
    let emails = [
        "race@test.com",
        "Race@test.com",
        " race@TEST.com",
        "RACE@test.com",
    ];
    let attempts = (0..12).map(|i| app.sign_up(emails[i % emails.len()], "password"));
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            400 => assert_errors(response, 400, json!([{ "message": "Email in use" }])).await,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn sets_a_cookie_after_successful_signup() {
    let app = spawn_app().await;
    let response = app.sign_up("test@test.com", "password").await;
    assert_eq!(response.status().as_u16(), 201);
    let header = set_cookie(&response);
    let (value, attributes) = header.split_once(';').unwrap();
    assert_eq!(attributes, " path=/; samesite=lax; httponly");
    let body: Value = response.json().await.unwrap();

    // The value is base64 of {"jwt": <HS256 token over id, email, iat, exp, jti>}.
    let token = jwt_of(value);
    let key = jsonwebtoken::DecodingKey::from_secret(common::testing::JWT_KEY.as_bytes());
    let claims: Value = jsonwebtoken::decode(
        &token,
        &key,
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .unwrap()
    .claims;
    assert_eq!(claims["id"], body["id"]);
    assert_eq!(claims["email"], "test@test.com");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        iat + 3600,
        "exp = iat + JWT_TTL_SECONDS"
    );
    // Its own id, by which signing out revokes it.
    assert!(common::mongo::is_valid_object_id(
        claims["jti"].as_str().unwrap()
    ));
    assert_eq!(claims.as_object().unwrap().len(), 5);
    assert!(!cookie_pair(&header).is_empty());
}

#[tokio::test]
async fn stores_a_salted_scrypt_hash_never_the_password() {
    let app = spawn_app().await;
    app.sign_up("test@test.com", "  password  ").await;
    let user = app
        .backing
        .database()
        .collection::<mongodb::bson::Document>("users")
        .find_one(mongodb::bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    let stored = user.get_str("password").unwrap();
    let (key, salt) = stored.split_once('.').unwrap();
    assert_eq!((key.len(), salt.len()), (128, 16));
    assert!(!stored.contains("password"));
    // The trimmed password is the one stored.
    assert_eq!(
        app.sign_in("test@test.com", "password")
            .await
            .status()
            .as_u16(),
        200
    );
}
