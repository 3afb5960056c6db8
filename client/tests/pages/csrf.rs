//! Cross-site request forgery: every post that changes something is refused (the 403 page, no
//! cookie, no API call) when it comes from another site or lacks the token of its form; every
//! form carries that token, and with it the normal flow works.

use crate::helpers::{
    FormToken, Platform, attribute, csrf_cookie, html_of, location, set_cookies, spawn_platform,
    texts,
};

/// Headers of a post made by a page on another site (or a sibling subdomain).
const CROSS_SITE: [&[(&str, &str)]; 5] = [
    &[("sec-fetch-site", "cross-site")],
    &[("sec-fetch-site", "same-site")],
    &[
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ],
    &[("origin", "https://evil.example")],
    &[("referer", "https://evil.example/forms.html")],
];

/// One state-changing post, as its form would send it.
struct Post {
    action: String,
    /// The session cookie it is sent with.
    session: Option<String>,
    fields: Vec<(&'static str, String)>,
    /// Where it goes once let through.
    then: &'static str,
}

impl Post {
    fn new(action: impl Into<String>, session: Option<&str>, then: &'static str) -> Post {
        Post {
            action: action.into(),
            session: session.map(str::to_owned),
            fields: Vec::new(),
            then,
        }
    }

    fn field(mut self, name: &'static str, value: &str) -> Post {
        self.fields.push((name, value.to_owned()));
        self
    }

    /// Sends it with `token` (field and cookie, each if given) and `headers`.
    async fn send(
        &self,
        platform: &Platform,
        field: Option<&str>,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        if let Some(field) = field {
            fields.push(("csrf_token", field));
        }
        let cookies = [self.session.as_deref(), cookie];
        platform
            .post_raw(&self.action, &cookies, &fields, headers)
            .await
    }
}

/// Every route that changes something, with what it needs: a user to sign in as, a ticket to
/// buy, an order to pay.
async fn every_state_changing_post(platform: &Platform) -> Vec<Post> {
    platform.sign_up("known@test.com").await;
    let seller = platform.new_user().await;
    let reserved = platform.sell(&seller, "Concert", "10").await;
    let buyer = platform.new_user().await;
    let order_id = platform.buy(&buyer, &reserved).await;
    let for_sale = platform.sell(&seller, "Match", "20").await;
    let purchaser = platform.new_user().await;
    vec![
        Post::new("/auth/signup", None, "/")
            .field("email", "victim@test.com")
            .field("password", "password"),
        Post::new("/auth/signin", None, "/")
            .field("email", "known@test.com")
            .field("password", "password"),
        Post::new("/auth/signout", Some(&buyer), "/"),
        Post::new("/tickets/new", Some(&seller), "/")
            .field("title", "Forged")
            .field("price", "5"),
        Post::new(
            format!("/tickets/{for_sale}/purchase"),
            Some(&purchaser),
            "/orders/",
        ),
        Post::new(format!("/orders/{order_id}/pay"), Some(&buyer), "/orders")
            .field("token", "tok_visa"),
    ]
}

/// How many calls the API (the ingress) has had.
fn api_calls(platform: &Platform) -> usize {
    platform.hosts.lock().unwrap().len()
}

/// Asserts the 403 page, without a cookie.
async fn assert_refused(response: reqwest::Response, what: &str) {
    assert_eq!(response.status().as_u16(), 403, "{what}");
    assert!(set_cookies(&response).is_empty(), "{what}");
    let page = html_of(response).await;
    assert_eq!(texts(&page, "h1"), ["Request refused"], "{what}");
    let [message, ..] = &texts(&page, "main p")[..] else {
        panic!("{what}: no message");
    };
    assert!(
        message.starts_with("This request came from another site, so it was refused"),
        "{what}: {message}"
    );
    assert_eq!(texts(&page, ".navbar-brand"), ["GitTix"], "{what}");
}

#[tokio::test]
async fn every_post_from_another_site_is_refused_even_with_a_valid_token() {
    let platform = spawn_platform().await;
    for post in every_state_changing_post(&platform).await {
        let FormToken { cookie, value } = platform
            .form_token(&post.action, post.session.as_deref())
            .await;
        for headers in CROSS_SITE {
            let calls = api_calls(&platform);
            let response = post
                .send(&platform, Some(&value), Some(&cookie), headers)
                .await;
            let what = format!("{} {headers:?}", post.action);
            assert_refused(response, &what).await;
            assert_eq!(api_calls(&platform), calls, "{what}: the API was called");
        }
    }
}

#[tokio::test]
async fn every_post_without_its_forms_token_is_refused() {
    let platform = spawn_platform().await;
    let own = [
        ("sec-fetch-site", "same-origin"),
        ("origin", platform.address.as_str()),
    ];
    for post in every_state_changing_post(&platform).await {
        let FormToken { cookie, value } = platform
            .form_token(&post.action, post.session.as_deref())
            .await;
        // A token of another browser: well formed, not this one's.
        let other = platform.form_token(&post.action, None).await.value;
        assert_ne!(other, value);
        let wrong: [(&str, Option<&str>, Option<&str>); 6] = [
            ("no field", None, Some(&cookie)),
            ("an empty field", Some(""), Some(&cookie)),
            ("another browser's token", Some(&other), Some(&cookie)),
            ("no cookie", Some(&value), None),
            ("neither", None, None),
            (
                "the cookie's name as the token",
                Some("csrf"),
                Some(&cookie),
            ),
        ];
        for (what, field, cookie) in wrong {
            let calls = api_calls(&platform);
            for headers in [&own[..], &[]] {
                let response = post.send(&platform, field, cookie, headers).await;
                let what = format!("{} with {what}, {headers:?}", post.action);
                assert_refused(response, &what).await;
                assert_eq!(api_calls(&platform), calls, "{what}: the API was called");
            }
        }

        // None of the refused posts reached the API: the real one works as it always did.
        let response = post
            .send(&platform, Some(&value), Some(&cookie), &own)
            .await;
        assert_eq!(response.status().as_u16(), 303, "{}", post.action);
        let location = location(&response);
        assert!(
            location.starts_with(post.then),
            "{}: {location}",
            post.action
        );
    }
    let payments = platform.payments.lock().unwrap().len();
    assert_eq!(payments, 1, "only the real payment reached payments");
    let landing = platform.page("/", None).await;
    let forged = texts(&landing, "tbody tr td:first-child")
        .into_iter()
        .filter(|title| title == "Forged")
        .count();
    assert_eq!(forged, 1, "only the real sale created a ticket");
}

#[tokio::test]
async fn login_csrf_is_refused() {
    // The attacker's page posts the attacker's credentials to sign the victim in as them.
    let platform = spawn_platform().await;
    platform.sign_up("attacker@test.com").await;
    let attackers_own_token = platform.form_token("/auth/signin", None).await;
    let credentials = [("email", "attacker@test.com"), ("password", "password")];
    for (cookies, token) in [
        ([None, None], None),
        // Even with a token and cookie the attacker got for themselves (planted, say).
        (
            [Some(attackers_own_token.cookie.as_str()), None],
            Some(attackers_own_token.value.as_str()),
        ),
    ] {
        let mut fields = credentials.to_vec();
        fields.extend(token.map(|token| ("csrf_token", token)));
        let response = platform
            .post_raw(
                "/auth/signin",
                &cookies,
                &fields,
                &[
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "cross-site"),
                ],
            )
            .await;
        assert_refused(response, "sign-in from evil.example").await;
    }
}

#[tokio::test]
async fn posts_from_our_own_pages_pass_the_origin_check() {
    let platform = spawn_platform().await;
    platform.sign_up("me@test.com").await;
    let own = platform.address.as_str();
    let https_own = own.replacen("http://", "https://", 1);
    let own_page = format!("{own}/auth/signin");
    let passing: [&[(&str, &str)]; 7] = [
        &[],
        &[("sec-fetch-site", "same-origin")],
        &[("sec-fetch-site", "none")],
        &[("sec-fetch-site", "same-origin"), ("origin", own)],
        &[("origin", own)],
        &[("referer", &own_page)],
        &[("x-forwarded-proto", "https"), ("origin", &https_own)],
    ];
    let token = platform.form_token("/auth/signin", None).await;
    let wrong_password = [
        ("email", "me@test.com"),
        ("password", "wrong"),
        ("csrf_token", token.value.as_str()),
    ];
    for headers in passing {
        let response = platform
            .post_raw(
                "/auth/signin",
                &[Some(&token.cookie)],
                &wrong_password,
                headers,
            )
            .await;
        // The API answered: the post went through.
        assert_eq!(response.status().as_u16(), 422, "{headers:?}");
    }

    // Served over HTTPS, a page of the plain-HTTP origin is another origin.
    let response = platform
        .post_raw(
            "/auth/signin",
            &[Some(&token.cookie)],
            &wrong_password,
            &[("x-forwarded-proto", "https"), ("origin", own)],
        )
        .await;
    assert_refused(response, "http origin, https request").await;
}

#[tokio::test]
async fn the_token_cookie_is_http_only_same_site_and_secure_over_https() {
    let platform = spawn_platform().await;
    let response = platform.get("/auth/signin", None).await;
    let cookies = set_cookies(&response);
    let [cookie] = &cookies[..] else {
        panic!("one cookie expected: {cookies:?}");
    };
    let token = cookie
        .strip_prefix("csrf=")
        .and_then(|rest| rest.strip_suffix("; path=/; samesite=lax; httponly"))
        .unwrap_or_else(|| panic!("{cookie}"));
    assert_eq!(token.len(), 64, "{token}");
    assert!(
        token.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{token}"
    );
    let form = html_of(response).await;
    assert_eq!(
        attribute(&form, "form input[name=csrf_token]", "value").unwrap(),
        token
    );
    assert_eq!(
        attribute(&form, "form input[name=csrf_token]", "type").unwrap(),
        "hidden"
    );

    let over_https = platform
        .http
        .get(platform.url("/auth/signup"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = &set_cookies(&over_https)[0];
    assert!(
        cookie.ends_with("; path=/; samesite=lax; secure; httponly"),
        "{cookie}"
    );

    // A browser that has one keeps it: the same token in every form, no new cookie.
    let again = platform
        .get("/auth/signup", Some(&format!("csrf={token}")))
        .await;
    assert!(set_cookies(&again).is_empty());
    let form = html_of(again).await;
    assert_eq!(
        attribute(&form, "form input[name=csrf_token]", "value").unwrap(),
        token
    );

    // The cached assets never set one.
    let stylesheet = attribute(&form, "link[rel=stylesheet]", "href").unwrap();
    let asset = platform.get(&stylesheet, None).await;
    assert_eq!(asset.status().as_u16(), 200);
    assert!(set_cookies(&asset).is_empty());
}

#[tokio::test]
async fn every_form_carries_the_browsers_token_also_when_shown_again() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    let ticket_id = platform.sell(&seller, "Concert", "10").await;
    let buyer = platform.new_user().await;
    let order_id = platform.buy(&buyer, &ticket_id).await;
    let csrf = csrf_cookie(&platform.get("/", None).await).unwrap();
    let token = csrf.strip_prefix("csrf=").unwrap();
    let with = |session: &str| format!("{session}; {csrf}");

    let ticket = format!("/tickets/{ticket_id}");
    let order = format!("/orders/{order_id}");
    let pages = [
        ("/auth/signup", csrf.clone()),
        ("/auth/signin", csrf.clone()),
        ("/auth/signout", with(&seller)),
        ("/tickets/new", with(&seller)),
        (ticket.as_str(), csrf.clone()),
        (order.as_str(), with(&buyer)),
    ];
    for (path, cookie) in pages {
        let page = platform.page(path, Some(&cookie)).await;
        let forms = texts(&page, "main form");
        assert_eq!(forms.len(), 1, "{path}");
        assert_eq!(
            attribute(&page, "main form input[name=csrf_token]", "value").as_deref(),
            Some(token),
            "{path}"
        );
    }

    // Refused by the API, each form is shown again, with the same token.
    let purchase = format!("/tickets/{ticket_id}/purchase");
    let pay = format!("/orders/{order_id}/pay");
    let second_buyer = platform.new_user().await;
    let refused = [
        (
            "/auth/signup",
            csrf.clone(),
            vec![("email", "bad"), ("password", "p")],
        ),
        (
            "/auth/signin",
            csrf.clone(),
            vec![("email", "nobody@test.com"), ("password", "password")],
        ),
        (
            "/tickets/new",
            with(&seller),
            vec![("title", ""), ("price", "1")],
        ),
        (purchase.as_str(), with(&second_buyer), vec![]),
        (
            pay.as_str(),
            with(&buyer),
            vec![("token", "tok_chargeDeclined")],
        ),
    ];
    for (path, cookie, mut fields) in refused {
        fields.push(("csrf_token", token));
        let response = platform
            .post_raw(path, &[Some(&cookie)], &fields, &[])
            .await;
        assert_eq!(response.status().as_u16(), 422, "{path}");
        assert!(set_cookies(&response).is_empty(), "{path}");
        let page = html_of(response).await;
        assert_eq!(
            attribute(&page, "main form input[name=csrf_token]", "value").as_deref(),
            Some(token),
            "{path}"
        );
    }
}
