//! Purchase, `/orders/:orderId` (countdown and the test-card payment) and `/orders` (My Orders);
//! paying with Stripe's Payment Element is in [`crate::payment_element`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::testing::events::eventually;
use mongodb::bson::oid::ObjectId;
use scraper::Html;

use crate::helpers::{
    Options, alert_messages, assert_see_other, attribute, html_of, nav_links, spawn_platform,
    spawn_platform_with, texts,
};

/// A signed-in buyer with a fresh order for a ticket of 12.5 called "Concert".
pub(crate) async fn bought(platform: &crate::helpers::Platform) -> (String, String, String) {
    let seller = platform.new_user().await;
    let ticket_id = platform.sell(&seller, "Concert", "12.5").await;
    let buyer = platform.new_user().await;
    let order_id = platform.buy(&buyer, &ticket_id).await;
    (buyer, ticket_id, order_id)
}

fn seconds_in_countdown(page: &Html) -> i64 {
    let [countdown] = &texts(page, "#countdown")[..] else {
        panic!("one countdown expected");
    };
    countdown
        .strip_prefix("Time left to pay: ")
        .and_then(|rest| rest.strip_suffix(" seconds"))
        .unwrap_or_else(|| panic!("{countdown}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn signed_out_buyers_are_sent_to_sign_in() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    let ticket_id = platform.sell(&seller, "Concert", "10").await;
    let response = platform
        .post_form(&format!("/tickets/{ticket_id}/purchase"), None, &[])
        .await;
    assert_see_other(&response, "/auth/signin");
    for path in ["/orders".to_owned(), format!("/orders/{}", ObjectId::new())] {
        assert_see_other(&platform.get(&path, None).await, "/auth/signin");
    }
}

#[tokio::test]
async fn purchase_leads_to_the_order_page_with_the_time_left_to_pay() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let page = platform
        .page(&format!("/orders/{order_id}"), Some(&buyer))
        .await;

    assert_eq!(texts(&page, "h1"), ["Concert"]);
    assert_eq!(texts(&page, "h4"), ["Price: 12.50"]);
    let seconds = seconds_in_countdown(&page);
    assert!((55..=60).contains(&seconds), "{seconds}");
    let expires_at: DateTime<Utc> = attribute(&page, "#countdown", "data-expires-at")
        .unwrap()
        .parse()
        .unwrap();
    let left = expires_at - Utc::now();
    assert!(left > chrono::Duration::seconds(50) && left <= chrono::Duration::seconds(60));
    let ms_left: i64 = attribute(&page, "#countdown", "data-ms-left")
        .unwrap()
        .parse()
        .unwrap();
    assert!((50_000..=60_000).contains(&ms_left), "{ms_left}");

    let action = format!("/orders/{order_id}/pay");
    assert_eq!(
        attribute(&page, "form[data-pay-form]", "action").unwrap(),
        action
    );
    assert_eq!(
        attribute(&page, "form input[name=token]", "value").unwrap(),
        "tok_visa"
    );
    assert_eq!(texts(&page, "form button"), ["Pay with test card"]);
    assert_eq!(nav_links(&page), ["Sell Tickets", "My Orders", "Sign Out"]);
}

#[tokio::test]
async fn a_reserved_ticket_cannot_be_bought_again() {
    let platform = spawn_platform().await;
    let (_, ticket_id, _) = bought(&platform).await;
    let second_buyer = platform.new_user().await;
    let response = platform
        .post_form(
            &format!("/tickets/{ticket_id}/purchase"),
            Some(&second_buyer),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let page = html_of(response).await;
    assert_eq!(alert_messages(&page), ["Ticket is already reserved"]);
    assert_eq!(texts(&page, "h1"), ["Concert"]);
    assert_eq!(texts(&page, "form button"), ["Purchase"]);
}

#[tokio::test]
async fn my_orders_lists_title_and_status() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let orders = platform.page("/orders", Some(&buyer)).await;
    assert_eq!(texts(&orders, "h1"), ["My Orders"]);
    assert_eq!(texts(&orders, "ul.list-group li"), ["Concert - created"]);
    let link = format!("li a[href='/orders/{order_id}']");
    assert_eq!(texts(&orders, &link), ["Concert"]);

    let newcomer = platform.new_user().await;
    let none = platform.page("/orders", Some(&newcomer)).await;
    assert!(texts(&none, "ul.list-group li").is_empty());
    assert_eq!(
        texts(&none, "p.text-muted"),
        ["You have no orders yet. Find a ticket."]
    );
}

#[tokio::test]
async fn someone_elses_or_a_missing_order_is_the_404_page() {
    let platform = spawn_platform().await;
    let (_, _, order_id) = bought(&platform).await;
    let stranger = platform.new_user().await;
    let missing = format!("/orders/{}", ObjectId::new());
    for path in [
        format!("/orders/{order_id}"),
        missing,
        "/orders/abc".to_owned(),
    ] {
        let response = platform.get(&path, Some(&stranger)).await;
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert_eq!(texts(&html_of(response).await, "h1"), ["Page not found"]);
    }
}

#[tokio::test]
async fn an_order_whose_time_is_up_says_order_expired_and_offers_no_payment() {
    let platform = spawn_platform_with(Options {
        expiration_window: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let (buyer, _, order_id) = bought(&platform).await;
    let path = format!("/orders/{order_id}");
    // Past half a second over, "0 seconds" rounds to -1: expired.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let page = platform.page(&path, Some(&buyer)).await;
    assert_eq!(texts(&page, "#countdown"), ["Order Expired"]);
    assert!(attribute(&page, "#countdown", "data-countdown").is_none());
    assert!(texts(&page, "form").is_empty());
}

#[tokio::test]
async fn paying_with_the_test_card_goes_to_my_orders() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let response = platform
        .post_form(
            &format!("/orders/{order_id}/pay"),
            Some(&buyer),
            &[("token", "tok_visa")],
        )
        .await;
    assert_see_other(&response, "/orders");
    let payments = platform.payments.lock().unwrap().clone();
    let [(cookie, body)] = &payments[..] else {
        panic!("one payment expected: {payments:?}");
    };
    assert_eq!(cookie.as_deref(), Some(buyer.as_str()));
    assert_eq!(
        body,
        &serde_json::json!({ "orderId": order_id, "token": "tok_visa" })
    );
}

#[tokio::test]
async fn a_refused_payment_is_shown_on_the_order_page() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let response = platform
        .post_form(
            &format!("/orders/{order_id}/pay"),
            Some(&buyer),
            &[("token", "tok_chargeDeclined")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let page = html_of(response).await;
    assert_eq!(alert_messages(&page), ["Your card was declined."]);
    assert_eq!(texts(&page, "form button"), ["Pay with test card"]);

    let signed_out = platform
        .post_form(
            &format!("/orders/{order_id}/pay"),
            None,
            &[("token", "tok_visa")],
        )
        .await;
    assert_see_other(&signed_out, "/auth/signin");
}

#[tokio::test]
async fn a_paid_order_is_not_offered_for_payment_again() {
    let platform = spawn_platform().await;
    let (buyer, _, order_id) = bought(&platform).await;
    let id = ObjectId::parse_str(&order_id).unwrap();
    platform
        .orders_db
        .collection::<mongodb::bson::Document>("orders")
        .update_one(
            mongodb::bson::doc! { "_id": id },
            mongodb::bson::doc! { "$set": { "status": "complete" } },
        )
        .await
        .unwrap();
    eventually("the order page says it is paid", || async {
        let page = platform
            .page(&format!("/orders/{order_id}"), Some(&buyer))
            .await;
        texts(&page, ".alert-success").len() == 1 && texts(&page, "form").is_empty()
    })
    .await;
    let orders = platform.page("/orders", Some(&buyer)).await;
    assert_eq!(texts(&orders, "ul.list-group li"), ["Concert - complete"]);
}
