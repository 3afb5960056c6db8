//! `/auth/signup`, `/auth/signin`, `/auth/signout`: the forms, their errors, and the session
//! cookie relayed from the API to the browser.

use crate::helpers::{
    alert_messages, assert_see_other, attribute, cookie_pair, html_of, nav_links, set_cookies,
    spawn_platform, texts,
};

#[tokio::test]
async fn the_sign_up_and_sign_in_forms() {
    let platform = spawn_platform().await;
    for (path, heading) in [("/auth/signup", "Sign Up"), ("/auth/signin", "Sign In")] {
        let form = platform.page(path, None).await;
        assert_eq!(texts(&form, "h1"), [heading]);
        assert_eq!(texts(&form, "label"), ["Email Address", "Password"]);
        assert_eq!(attribute(&form, "form", "method").unwrap(), "post");
        assert_eq!(attribute(&form, "form", "action").unwrap(), path);
        assert_eq!(
            attribute(&form, "input#password", "type").unwrap(),
            "password"
        );
        assert_eq!(texts(&form, "button"), [heading]);
        assert!(alert_messages(&form).is_empty());
        assert_eq!(nav_links(&form), ["Sign Up", "Sign In"]);
    }
}

#[tokio::test]
async fn signing_up_relays_the_session_cookie_and_goes_home() {
    let platform = spawn_platform().await;
    let response = platform
        .post_form(
            "/auth/signup",
            None,
            &[("email", "new@test.com"), ("password", "password")],
        )
        .await;
    assert_see_other(&response, "/");
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("session="), "{}", cookies[0]);
    assert!(cookies[0].contains("; path=/"), "{}", cookies[0]);
    assert!(cookies[0].contains("httponly"), "{}", cookies[0]);

    let landing = platform.page("/", Some(&cookie_pair(&cookies[0]))).await;
    assert_eq!(texts(&landing, ".navbar-text"), ["new@test.com"]);
}

#[tokio::test]
async fn sign_up_errors_are_listed_and_the_email_is_kept() {
    let platform = spawn_platform().await;
    let response = platform
        .post_form(
            "/auth/signup",
            None,
            &[("email", "not-an-email"), ("password", "p")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(set_cookies(&response).is_empty());
    let form = html_of(response).await;
    assert_eq!(texts(&form, ".alert.alert-danger h4"), ["Ooops...."]);
    assert_eq!(
        alert_messages(&form),
        [
            "Email must be valid",
            "Password must be between 4 and 20 characters"
        ]
    );
    assert_eq!(
        attribute(&form, "input#email", "value").unwrap(),
        "not-an-email"
    );
    assert_eq!(attribute(&form, "input#password", "value"), None);
    assert_eq!(nav_links(&form), ["Sign Up", "Sign In"]);
}

#[tokio::test]
async fn a_taken_email_is_reported() {
    let platform = spawn_platform().await;
    platform.sign_up("taken@test.com").await;
    let response = platform
        .post_form(
            "/auth/signup",
            None,
            &[("email", "taken@test.com"), ("password", "password")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(alert_messages(&html_of(response).await), ["Email in use"]);
}

#[tokio::test]
async fn signing_in_relays_a_fresh_session_and_bad_credentials_are_reported() {
    let platform = spawn_platform().await;
    platform.sign_up("me@test.com").await;

    let wrong = platform
        .post_form(
            "/auth/signin",
            None,
            &[("email", "me@test.com"), ("password", "wrong")],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 422);
    let form = html_of(wrong).await;
    assert_eq!(alert_messages(&form), ["Invalid credentials"]);
    assert_eq!(
        attribute(&form, "input#email", "value").unwrap(),
        "me@test.com"
    );

    let empty = platform.post_form("/auth/signin", None, &[]).await;
    assert_eq!(
        alert_messages(&html_of(empty).await),
        ["Email must be valid", "You must supply a password"]
    );

    let right = platform
        .post_form(
            "/auth/signin",
            None,
            &[("email", "me@test.com"), ("password", "password")],
        )
        .await;
    assert_see_other(&right, "/");
    let cookie = cookie_pair(&set_cookies(&right)[0]);
    let landing = platform.page("/", Some(&cookie)).await;
    assert_eq!(
        nav_links(&landing),
        ["Sell Tickets", "My Orders", "Sign Out"]
    );
}

#[tokio::test]
async fn signing_out_clears_the_session() {
    let platform = spawn_platform().await;
    let cookie = platform.new_user().await;
    let response = platform
        .post_form("/auth/signout", Some(&cookie), &[])
        .await;
    assert_see_other(&response, "/");
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("session=;"), "{}", cookies[0]);
    assert!(
        cookies[0].contains("expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{}",
        cookies[0]
    );
}

#[tokio::test]
async fn opening_the_sign_out_page_does_not_sign_out() {
    let platform = spawn_platform().await;
    let cookie = platform.sign_up("me@test.com").await;
    let response = platform.get("/auth/signout", Some(&cookie)).await;
    assert_eq!(response.status().as_u16(), 200);
    let cookies = set_cookies(&response);
    assert!(
        cookies.iter().all(|cookie| !cookie.starts_with("session=")),
        "{cookies:?}"
    );
    let page = html_of(response).await;
    assert_eq!(texts(&page, "h1"), ["Sign Out"]);
    assert_eq!(attribute(&page, "form", "method").unwrap(), "post");
    assert_eq!(attribute(&page, "form", "action").unwrap(), "/auth/signout");
    assert_eq!(texts(&page, "form button"), ["Sign Out"]);
    assert!(attribute(&page, "form input[name=csrf_token]", "value").is_some());
    assert_eq!(texts(&page, ".navbar-text"), ["me@test.com"]);

    // Still signed in.
    let landing = platform.page("/", Some(&cookie)).await;
    assert_eq!(texts(&landing, ".navbar-text"), ["me@test.com"]);
    // Signed out, there is nothing to sign out of.
    assert_see_other(&platform.get("/auth/signout", None).await, "/");
}

#[tokio::test]
async fn an_unreadable_form_is_a_400_page() {
    let platform = spawn_platform().await;
    let response = platform
        .http
        .post(platform.url("/auth/signup"))
        .header("content-type", "application/json")
        .body(r#"{"email":"a@b.c","password":"password"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let page = html_of(response).await;
    assert_eq!(texts(&page, "h1"), ["Bad request"]);
}
