//! The stylesheet and script (cache headers, ETags), the HTML 404 page, health probes, the
//! headers every answer carries, and no request to another site without a Stripe key.

use scraper::Selector;

use crate::helpers::{attribute, browser, csrf_cookie, html_of, nav_links, spawn_platform, texts};

#[tokio::test]
async fn assets_are_served_with_long_caching_and_etags() {
    let platform = spawn_platform().await;
    let landing = platform.page("/", None).await;
    let stylesheet = attribute(&landing, "link[rel=stylesheet]", "href").unwrap();
    let script = attribute(&landing, "script", "src").unwrap();
    assert!(stylesheet.starts_with("/static/app.css?v="), "{stylesheet}");
    assert!(script.starts_with("/static/app.js?v="), "{script}");

    for (url, content_type, marker) in [
        (&stylesheet, "text/css; charset=utf-8", ".navbar"),
        (
            &script,
            "text/javascript; charset=utf-8",
            "Time left to pay: ",
        ),
    ] {
        let response = platform.get(url, None).await;
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], content_type);
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(response.text().await.unwrap().contains(marker));

        let again = platform
            .http
            .get(platform.url(url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 304);
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.text().await.unwrap().is_empty());
    }

    let unversioned = platform.get("/static/app.css", None).await;
    assert_eq!(unversioned.status().as_u16(), 200);
    assert_eq!(
        unversioned.headers()["cache-control"],
        "public, max-age=300"
    );
    let missing = platform.get("/static/nope.css", None).await;
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn unknown_pages_get_the_html_404_page() {
    let platform = spawn_platform().await;
    for (method, path) in [
        (reqwest::Method::GET, "/nowhere"),
        (reqwest::Method::GET, "/tickets/abc/purchase"),
        (reqwest::Method::DELETE, "/"),
    ] {
        let response = platform
            .http
            .request(method.clone(), platform.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{method} {path}");
        let page = html_of(response).await;
        assert_eq!(texts(&page, "h1"), ["Page not found"]);
        assert_eq!(texts(&page, ".navbar-brand"), ["GitTix"]);
        assert_eq!(attribute(&page, "a.btn", "href").unwrap(), "/");
    }
}

#[tokio::test]
async fn health_probes_answer() {
    let platform = spawn_platform().await;
    common::testing::http::assert_probes_answer(&platform.address).await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_not_cached() {
    let platform = spawn_platform().await;
    let response = platform.get("/", None).await;
    let headers = response.headers();
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn without_a_stripe_key_no_page_refers_to_another_site() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    let ticket_id = platform.sell(&seller, "Concert", "10").await;
    let buyer = platform.new_user().await;
    let order_id = platform.buy(&buyer, &ticket_id).await;

    let ticket = format!("/tickets/{ticket_id}");
    let order = format!("/orders/{order_id}");
    let pages = [
        ("/", None),
        ("/auth/signup", None),
        ("/auth/signin", None),
        ("/tickets/new", Some(&seller)),
        (ticket.as_str(), None),
        (order.as_str(), Some(&buyer)),
        ("/orders", Some(&buyer)),
    ];
    let linked = Selector::parse("[src], [href], [action]").unwrap();
    for (path, cookie) in pages {
        let page = platform.page(path, cookie.map(String::as_str)).await;
        for element in page.select(&linked) {
            for name in ["src", "href", "action"] {
                if let Some(url) = element.value().attr(name) {
                    assert!(
                        url.starts_with('/') && !url.starts_with("//"),
                        "{path}: {url}"
                    );
                }
            }
        }
        assert!(!page.html().contains("stripe.com"), "{path}");
    }
}

#[tokio::test]
async fn an_unreachable_api_is_a_friendly_500_page() {
    let (address, _closed) = crate::helpers::spawn_client_without_api().await;
    let http = browser();
    // Without the API no page shows a form; the token is the one its cookie holds.
    let first = http.get(format!("{address}/")).send().await.unwrap();
    let cookie = csrf_cookie(&first).unwrap();
    let token = cookie.strip_prefix("csrf=").unwrap().to_owned();
    for request in [
        http.get(format!("{address}/")),
        http.get(format!("{address}/auth/signup")),
        http.post(format!("{address}/auth/signin"))
            .header("cookie", &cookie)
            .form(&[
                ("email", "a@test.com"),
                ("password", "password"),
                ("csrf_token", &token),
            ]),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 500);
        let page = html_of(response).await;
        assert_eq!(texts(&page, "h1"), ["Something went wrong"]);
        assert!(nav_links(&page).is_empty());
    }
    // The assets and probes need no API.
    common::testing::http::assert_probes_answer(&address).await;
    let stylesheet = http
        .get(format!("{address}/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stylesheet.status().as_u16(), 200);
}

#[tokio::test]
async fn an_api_answer_over_the_limit_is_the_error_page_not_held_in_memory() {
    // An API with a catalogue of about 64 KiB.
    let ticket =
        r#"{"id":"6b0000000000000000000000","title":"t","price":1,"userId":"u","version":0}"#;
    let catalogue = format!("[{}]", vec![ticket; 1000].join(","));
    assert!(catalogue.len() > 64 * 1024);
    let api =
        crate::helpers::spawn_router(axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let catalogue = catalogue.clone();
            async move {
                let body = if uri.path() == "/api/tickets" {
                    catalogue
                } else {
                    r#"{"currentUser":null}"#.to_owned()
                };
                ([("content-type", "application/json")], body)
            }
        }))
        .await;
    // Within the limit, the landing page lists it all.
    let roomy = crate::helpers::spawn_client_of(&api, 1024 * 1024).await;
    let response = browser().get(format!("{roomy}/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Over it, the error page.
    let tight = crate::helpers::spawn_client_of(&api, 16 * 1024).await;
    let response = browser().get(format!("{tight}/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let page = html_of(response).await;
    assert_eq!(texts(&page, "h1"), ["Something went wrong"]);
}
