use common::testing::signed_in_user;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn can_fetch_a_list_of_tickets() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let mut created = Vec::new();
    for (title, price) in [("a", 10.0), ("b", 20.0), ("c", 30.5)] {
        created.push(app.create_ticket(&cookie, title, price).await);
    }
    let listed = app.list_tickets().await;
    assert_eq!(listed.len(), 3);
    created.reverse();
    assert_eq!(listed, created, "every ticket, newest first");
}

#[tokio::test]
async fn an_empty_list_is_an_empty_array() {
    let app = spawn_app().await;
    assert_eq!(app.list_tickets().await, Vec::<Value>::new());
}

#[tokio::test]
async fn lists_only_unreserved_tickets() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let first = app.create_ticket(&cookie, "a", 10.0).await;
    let reserved = app.create_ticket(&cookie, "b", 20.0).await;
    let third = app.create_ticket(&cookie, "c", 30.0).await;
    let order = app.reserve(&reserved).await;
    let ids: Vec<Value> = app
        .list_tickets()
        .await
        .into_iter()
        .map(|ticket| ticket["id"].clone())
        .collect();
    assert_eq!(ids, [third["id"].clone(), first["id"].clone()]);

    // Released, it is for sale again.
    app.backing
        .publish(&crate::helpers::order_cancelled(&order))
        .await;
    common::testing::events::eventually("the released ticket is listed", || async {
        app.list_tickets().await.len() == 3
    })
    .await;
}

/// `GET path`: the status, the ids listed, and the `Link` header's targets by `rel`.
async fn page(
    app: &crate::helpers::TestApp,
    path: &str,
) -> (u16, Vec<String>, Vec<(String, String)>) {
    let response = app.get(path, None).await;
    let status = response.status().as_u16();
    let links = response
        .headers()
        .get("link")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let links = links
        .split(", ")
        .filter(|link| !link.is_empty())
        .map(|link| {
            let (target, rel) = link.split_once("; rel=").unwrap();
            let target = target.trim_start_matches('<').trim_end_matches('>');
            (rel.trim_matches('"').to_owned(), target.to_owned())
        })
        .collect();
    let body: Value = response.json().await.unwrap();
    let ids = body
        .as_array()
        .map(|tickets| {
            tickets
                .iter()
                .map(|ticket| ticket["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, ids, links)
}

fn link<'a>(links: &'a [(String, String)], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|(name, _)| name == rel)
        .map(|(_, target)| target.as_str())
}

#[tokio::test]
async fn pages_through_the_catalogue_newest_first_with_links_both_ways() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let mut ids = Vec::new();
    for index in 0..7 {
        let ticket = app.create_ticket(&cookie, &format!("t{index}"), 10.0).await;
        ids.push(ticket["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();

    let (status, first, links) = page(&app, "/api/tickets?limit=3").await;
    assert_eq!(status, 200);
    assert_eq!(first, ids[0..3]);
    assert_eq!(link(&links, "prev"), None);
    let next = link(&links, "next").unwrap().to_owned();
    assert_eq!(next, format!("/api/tickets?limit=3&after={}", ids[2]));

    let (_, second, links) = page(&app, &next).await;
    assert_eq!(second, ids[3..6]);
    let next = link(&links, "next").unwrap().to_owned();
    let back = link(&links, "prev").unwrap().to_owned();

    let (_, last, links) = page(&app, &next).await;
    assert_eq!(last, ids[6..7]);
    assert_eq!(link(&links, "next"), None);
    assert!(link(&links, "prev").is_some());

    let (_, again, links) = page(&app, &back).await;
    assert_eq!(again, ids[0..3], "the page before the second is the first");
    assert_eq!(link(&links, "prev"), None);
    assert!(link(&links, "next").is_some());

    // Without a limit, a page is 100 (here: all of them, and no links).
    let (_, all, links) = page(&app, "/api/tickets").await;
    assert_eq!(all, ids);
    assert!(links.is_empty());
}

#[tokio::test]
async fn a_bad_page_is_a_field_error() {
    let app = spawn_app().await;
    for (query, field, message) in [
        (
            "limit=0",
            "limit",
            "Limit must be a whole number from 1 to 100",
        ),
        (
            "limit=101",
            "limit",
            "Limit must be a whole number from 1 to 100",
        ),
        (
            "limit=ten",
            "limit",
            "Limit must be a whole number from 1 to 100",
        ),
        ("after=nope", "after", "After must be an id"),
        ("before=%24ne", "before", "Before must be an id"),
        (
            "after=6b0000000000000000000000&before=6b0000000000000000000001",
            "before",
            "Give after or before, not both",
        ),
    ] {
        assert_field_error(&app, query, field, message).await;
    }
}

#[tokio::test]
async fn finds_tickets_by_every_word_of_a_search_and_pages_through_them() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let id = |ticket: Value| ticket["id"].as_str().unwrap().to_owned();
    let night = id(app.create_ticket(&cookie, "Rock night", 10.0).await);
    let jazz = id(app.create_ticket(&cookie, "Jazz night", 10.0).await);
    let roll = id(app
        .create_ticket(&cookie, "ROCK & Roll, Zürich", 10.0)
        .await);

    let (status, found, _) = page(&app, "/api/tickets?q=rock").await;
    assert_eq!(status, 200);
    assert_eq!(found, [roll.clone(), night.clone()], "newest first");
    let (_, found, _) = page(&app, "/api/tickets?q=Rock+NIGHT").await;
    assert_eq!(found, std::slice::from_ref(&night), "every word");
    let (_, found, _) = page(&app, "/api/tickets?q=z%C3%BCrich").await;
    assert_eq!(found, std::slice::from_ref(&roll));
    let (_, found, _) = page(&app, "/api/tickets?q=opera").await;
    assert!(found.is_empty());

    // The links keep the search.
    let (_, first, links) = page(&app, "/api/tickets?q=rock&limit=1").await;
    assert_eq!(first, std::slice::from_ref(&roll));
    let next = link(&links, "next").unwrap().to_owned();
    assert_eq!(next, format!("/api/tickets?limit=1&q=rock&after={roll}"));
    let (_, second, _) = page(&app, &next).await;
    assert_eq!(second, std::slice::from_ref(&night));

    // An edit changes what the title is found by.
    let response = app
        .put_ticket(
            Some(&cookie),
            &jazz,
            serde_json::json!({ "title": "Rock jazz", "price": 10 }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let (_, found, _) = page(&app, "/api/tickets?q=rock").await;
    assert_eq!(found, [roll, jazz, night]);

    let long = format!("q={}", "a".repeat(101));
    assert_field_error(&app, &long, "q", "Search must be at most 100 characters").await;
}

/// `GET /api/tickets?query` is 400 with the one field error `(field, message)`.
async fn assert_field_error(
    app: &crate::helpers::TestApp,
    query: &str,
    field: &str,
    message: &str,
) {
    let response = app.get(&format!("/api/tickets?{query}"), None).await;
    let expected = serde_json::json!([{ "message": message, "field": field }]);
    crate::helpers::assert_errors(response, 400, expected).await;
}
