use common::events::TicketCreated;
use common::testing::events::wait_for;
use common::testing::signed_in_user;
use serde_json::{Value, json};

use crate::helpers::{assert_errors, assert_message, spawn_app};

const TITLE_REQUIRED: &str = "Title is required";
const PRICE_INVALID: &str = "Price must be greater than 0";

#[tokio::test]
async fn has_a_route_handler_listening_to_api_tickets_for_post_requests() {
    let app = spawn_app().await;
    let response = app.post_ticket(None, json!({})).await;
    assert_ne!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn can_only_be_accessed_if_the_user_is_signed_in() {
    let app = spawn_app().await;
    // Authentication comes before validation: an empty body is still 401.
    let anonymous = app.post_ticket(None, json!({})).await;
    assert_message(anonymous, 401, "Not authorized").await;
    let forged = app
        .post_ticket(
            Some("session=bm90IGEgc2Vzc2lvbg=="),
            json!({ "title": "a", "price": 10 }),
        )
        .await;
    assert_message(forged, 401, "Not authorized").await;
    assert!(app.list_tickets().await.is_empty());
}

#[tokio::test]
async fn returns_a_status_other_than_401_if_the_user_is_signed_in() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app.post_ticket(Some(&cookie), json!({})).await;
    assert_ne!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn returns_an_error_if_an_invalid_title_is_provided() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    for body in [json!({ "title": "", "price": 10 }), json!({ "price": 10 })] {
        let response = app.post_ticket(Some(&cookie), body).await;
        assert_errors(
            response,
            400,
            json!([{ "message": TITLE_REQUIRED, "field": "title" }]),
        )
        .await;
    }
}

#[tokio::test]
async fn returns_an_error_if_an_invalid_price_is_provided() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let prices = [
        json!(-10),
        json!(0),
        json!(""),
        json!("abc"),
        json!("NaN"),
        json!("inf"),
        json!("Infinity"),
        json!("-5"),
        json!(true),
        json!(null),
        json!([10]),
    ];
    for price in prices {
        let response = app
            .post_ticket(Some(&cookie), json!({ "title": "concert", "price": price }))
            .await;
        let expected = json!([{ "message": PRICE_INVALID, "field": "price" }]);
        assert_errors(response, 400, expected).await;
    }
    let missing = app
        .post_ticket(Some(&cookie), json!({ "title": "concert" }))
        .await;
    assert_errors(
        missing,
        400,
        json!([{ "message": PRICE_INVALID, "field": "price" }]),
    )
    .await;
    assert!(app.list_tickets().await.is_empty());
}

#[tokio::test]
async fn refuses_what_could_never_be_shown_or_paid() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let field = |field: &str, message: &str| json!([{ "message": message, "field": field }]);
    let cases = [
        (
            json!({ "title": "x".repeat(121), "price": 10 }),
            field("title", "Title must be at most 120 characters"),
        ),
        (
            json!({ "title": "   ", "price": 10 }),
            field("title", TITLE_REQUIRED),
        ),
        (
            json!({ "title": "t", "price": 0.001 }),
            field("price", "Price must be at least 0.50"),
        ),
        (
            json!({ "title": "t", "price": 0.49 }),
            field("price", "Price must be at least 0.50"),
        ),
        (
            json!({ "title": "t", "price": 1e7 }),
            field("price", "Price must be at most 999999.99"),
        ),
        (
            json!({ "title": "t", "price": "12.345" }),
            field("price", "Price must have at most two decimal places"),
        ),
    ];
    for (body, errors) in cases {
        let response = app.post_ticket(Some(&cookie), body.clone()).await;
        assert_errors(response, 400, errors).await;
    }
    assert!(app.list_tickets().await.is_empty());

    // The limits themselves are allowed; a title is stored trimmed, and counted in characters.
    for (title, price) in [
        (format!("  {}  ", "é".repeat(120)), json!(0.5)),
        ("concert".to_owned(), json!(999_999.99)),
        ("concert".to_owned(), json!("19.99")),
    ] {
        let response = app
            .post_ticket(Some(&cookie), json!({ "title": title, "price": price }))
            .await;
        assert_eq!(response.status().as_u16(), 201, "{title} {price}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["title"], json!(title.trim()));
    }
}

#[tokio::test]
async fn reports_every_failed_field_in_declaration_order() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app.post_ticket(Some(&cookie), json!({})).await;
    let expected = json!([
        { "message": TITLE_REQUIRED, "field": "title" },
        { "message": PRICE_INVALID, "field": "price" },
    ]);
    assert_errors(response, 400, expected).await;
}

#[tokio::test]
async fn creates_a_ticket_with_valid_inputs() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let response = app
        .post_ticket(Some(&cookie), json!({ "title": "concert", "price": 20 }))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#""price":20,"#),
        "written as JavaScript would: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        body,
        json!({ "title": "concert", "price": 20, "userId": user_id, "version": 0, "id": id })
    );

    let stored = app
        .backing
        .database()
        .collection::<mongodb::bson::Document>("tickets")
        .find(mongodb::bson::doc! {})
        .await
        .unwrap();
    let stored: Vec<_> = futures::TryStreamExt::try_collect(stored).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].get_f64("price").unwrap(), 20.0);
    assert_eq!(stored[0].get_str("title").unwrap(), "concert");
    assert_eq!(stored[0].get_str("userId").unwrap(), user_id);
    assert_eq!(stored[0].get_i64("version").unwrap(), 0);
    assert!(!stored[0].contains_key("orderId"));
}

#[tokio::test]
async fn accepts_a_price_sent_as_a_numeric_string() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let response = app
        .post_ticket(
            Some(&cookie),
            json!({ "title": "concert", "price": "12.50" }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["price"], json!(12.5));
    let stored = app.backing.stored(body["id"].as_str().unwrap()).await;
    assert_eq!(stored.price, 12.5);
}

#[tokio::test]
async fn publishes_an_event() {
    let app = spawn_app().await;
    let (user_id, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let events = wait_for::<TicketCreated>(&app.backing.bus, 1).await;
    assert_eq!(
        events,
        [TicketCreated {
            id: ticket["id"].as_str().unwrap().to_owned(),
            title: "concert".into(),
            price: 20.0,
            user_id,
            version: 0,
        }]
    );
    app.backing.settled().await;
    assert_eq!(
        common::testing::events::published::<TicketCreated>(&app.backing.bus)
            .await
            .len(),
        1
    );
}
