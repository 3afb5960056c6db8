//! `/`: the header for each kind of visitor, and the tickets table.

use crate::helpers::{attribute, nav_links, spawn_platform, texts, ticket_id_on_landing};

#[tokio::test]
async fn signed_out_visitors_see_sign_up_and_sign_in() {
    let platform = spawn_platform().await;
    let landing = platform.page("/", None).await;
    assert_eq!(texts(&landing, ".navbar-brand"), ["GitTix"]);
    assert_eq!(attribute(&landing, ".navbar-brand", "href").unwrap(), "/");
    assert_eq!(nav_links(&landing), ["Sign Up", "Sign In"]);
    assert_eq!(
        attribute(&landing, "nav a[href='/auth/signup']", "href").unwrap(),
        "/auth/signup"
    );
    assert_eq!(texts(&landing, "h1"), ["Tickets"]);
    assert_eq!(texts(&landing, "thead th"), ["Title", "Price", "Link"]);
    assert!(texts(&landing, "tbody tr").is_empty());
    assert_eq!(texts(&landing, "title"), ["Tickets · GitTix"]);
}

#[tokio::test]
async fn signed_in_visitors_see_sell_tickets_my_orders_and_sign_out() {
    let platform = spawn_platform().await;
    let cookie = platform.sign_up("seller@test.com").await;
    let landing = platform.page("/", Some(&cookie)).await;
    assert_eq!(
        nav_links(&landing),
        ["Sell Tickets", "My Orders", "Sign Out"]
    );
    for (label, href) in [
        ("Sell Tickets", "/tickets/new"),
        ("My Orders", "/orders"),
        ("Sign Out", "/auth/signout"),
    ] {
        let selector = format!("nav a[href='{href}']");
        assert_eq!(texts(&landing, &selector), [label]);
    }
    assert_eq!(texts(&landing, ".navbar-text"), ["seller@test.com"]);
}

#[tokio::test]
async fn tickets_are_listed_with_two_decimal_prices_and_a_view_link() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    platform.sell(&seller, "Concert", "12.5").await;
    platform.sell(&seller, "Match <b>&</b>", "20").await;

    for cookie in [None, Some(seller.as_str())] {
        let landing = platform.page("/", cookie).await;
        assert_eq!(
            texts(&landing, "tbody tr"),
            ["Match <b>&</b> 20.00 View", "Concert 12.50 View"],
            "newest first"
        );
        let id = ticket_id_on_landing(&landing, "Concert");
        let selector = format!("a[href='/tickets/{id}']");
        assert_eq!(texts(&landing, &selector), ["View"]);
    }
}

#[tokio::test]
async fn the_api_gets_the_browsers_host_header() {
    let platform = spawn_platform().await;
    let response = platform
        .http
        .get(platform.url("/"))
        .header("host", "ticketing.dev")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let hosts = platform.hosts.lock().unwrap().clone();
    // The current user and the tickets: both through the ingress, as ticketing.dev.
    assert_eq!(hosts, ["ticketing.dev", "ticketing.dev"]);
}

#[tokio::test]
async fn the_catalogue_pages_with_previous_and_next_links() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    for index in 0..101 {
        let title = format!("Show {index}");
        let response = platform
            .post_form(
                "/tickets/new",
                Some(&seller),
                &[("title", title.as_str()), ("price", "10")],
            )
            .await;
        assert_eq!(response.status().as_u16(), 303);
    }
    let first = platform.page("/", None).await;
    let rows = texts(&first, "tbody tr");
    assert_eq!(rows.len(), 100);
    assert_eq!(rows[0], "Show 100 10.00 View", "newest first");
    assert_eq!(texts(&first, "nav.pager a"), ["Next"]);
    let next = attribute(&first, "nav.pager a[rel='next']", "href").unwrap();

    let second = platform.page(&next, None).await;
    assert_eq!(texts(&second, "tbody tr"), ["Show 0 10.00 View"]);
    assert_eq!(texts(&second, "nav.pager a"), ["Previous"]);
    let previous = attribute(&second, "nav.pager a[rel='prev']", "href").unwrap();
    let back = platform.page(&previous, None).await;
    assert_eq!(texts(&back, "tbody tr"), rows);

    // A cursor that is no ticket id is the first page.
    let odd = platform.page("/?after=%22%3E%3Cscript%3E", None).await;
    assert_eq!(texts(&odd, "tbody tr"), rows);
}

#[tokio::test]
async fn the_search_box_finds_tickets_by_their_words() {
    let platform = spawn_platform().await;
    let seller = platform.new_user().await;
    platform.sell(&seller, "Rock night", "10").await;
    platform.sell(&seller, "Jazz night", "12").await;

    let found = platform.page("/?q=ROCK", None).await;
    assert_eq!(texts(&found, "tbody tr"), ["Rock night 10.00 View"]);
    assert_eq!(
        attribute(&found, "form.search input[name='q']", "value").as_deref(),
        Some("ROCK")
    );
    let both = platform.page("/?q=night", None).await;
    assert_eq!(
        texts(&both, "tbody tr"),
        ["Jazz night 12.00 View", "Rock night 10.00 View"]
    );
    let none = platform.page("/?q=opera+%3Cscript%3E", None).await;
    assert!(texts(&none, "tbody tr").is_empty());
    assert_eq!(
        texts(&none, "p.text-muted"),
        ["No tickets match your search."]
    );
}
