//! `/tickets/new` (the sell form) and `/tickets/:ticketId` (one ticket and its Purchase button).

use mongodb::bson::oid::ObjectId;

use crate::helpers::{
    alert_messages, assert_see_other, attribute, html_of, nav_links, spawn_platform, texts,
};

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_to_sell() {
    let platform = spawn_platform().await;
    let form = platform.get("/tickets/new", None).await;
    assert_see_other(&form, "/auth/signin");
    let post = platform
        .post_form(
            "/tickets/new",
            None,
            &[("title", "Concert"), ("price", "10")],
        )
        .await;
    assert_see_other(&post, "/auth/signin");
}

#[tokio::test]
async fn the_sell_form() {
    let platform = spawn_platform().await;
    let cookie = platform.new_user().await;
    let form = platform.page("/tickets/new", Some(&cookie)).await;
    assert_eq!(texts(&form, "h1"), ["Create a Ticket"]);
    assert_eq!(texts(&form, "label"), ["Title", "Price"]);
    assert_eq!(attribute(&form, "form", "action").unwrap(), "/tickets/new");
    assert_eq!(
        attribute(&form, "input#price", "inputmode").unwrap(),
        "decimal"
    );
    assert_eq!(texts(&form, "button"), ["Submit"]);
    assert_eq!(nav_links(&form), ["Sell Tickets", "My Orders", "Sign Out"]);
}

#[tokio::test]
async fn a_price_of_12_5_is_sold_as_12_50() {
    let platform = spawn_platform().await;
    let cookie = platform.new_user().await;
    let id = platform.sell(&cookie, "Concert", "12.5").await;

    let ticket = platform.page(&format!("/tickets/{id}"), None).await;
    assert_eq!(texts(&ticket, "h1"), ["Concert"]);
    assert_eq!(texts(&ticket, "h4"), ["Price: 12.50"]);
    assert_eq!(texts(&ticket, "title"), ["Concert · GitTix"]);
}

#[tokio::test]
async fn sell_errors_are_listed_and_the_fields_kept() {
    let platform = spawn_platform().await;
    let cookie = platform.new_user().await;
    let response = platform
        .post_form(
            "/tickets/new",
            Some(&cookie),
            &[("title", ""), ("price", "abc")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let form = html_of(response).await;
    assert_eq!(
        alert_messages(&form),
        ["Title is required", "Price must be greater than 0"]
    );
    assert_eq!(attribute(&form, "input#price", "value").unwrap(), "abc");

    let response = platform
        .post_form(
            "/tickets/new",
            Some(&cookie),
            &[("title", "Concert"), ("price", "0.001")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let form = html_of(response).await;
    assert_eq!(alert_messages(&form), ["Price must be greater than 0"]);
    assert_eq!(attribute(&form, "input#title", "value").unwrap(), "Concert");
    assert_eq!(attribute(&form, "input#price", "value").unwrap(), "0.00");
}

#[tokio::test]
async fn the_ticket_page_offers_purchase_to_everyone() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    let id = platform.sell(&seller, "Concert", "20").await;
    for (cookie, links) in [
        (None, vec!["Sign Up", "Sign In"]),
        (
            Some(seller.as_str()),
            vec!["Sell Tickets", "My Orders", "Sign Out"],
        ),
    ] {
        let ticket = platform.page(&format!("/tickets/{id}"), cookie).await;
        assert_eq!(nav_links(&ticket), links);
        assert_eq!(texts(&ticket, "h4"), ["Price: 20.00"]);
        let action = format!("/tickets/{id}/purchase");
        assert_eq!(attribute(&ticket, "form", "action").unwrap(), action);
        assert_eq!(attribute(&ticket, "form", "method").unwrap(), "post");
        assert_eq!(texts(&ticket, "form button"), ["Purchase"]);
    }
}

#[tokio::test]
async fn a_missing_or_malformed_ticket_is_the_404_page() {
    let platform = spawn_platform().await;
    let missing = format!("/tickets/{}", ObjectId::new().to_hex());
    for path in [
        missing.as_str(),
        "/tickets/abc",
        "/tickets/..%2F..%2Fapi%2Fusers",
    ] {
        let response = platform.get(path, None).await;
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let page = html_of(response).await;
        assert_eq!(texts(&page, "h1"), ["Page not found"], "{path}");
    }
}
