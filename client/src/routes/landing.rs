//! `/`: the tickets for sale, one page at a time, as a table of Title / Price / Link, with a
//! search box and Previous and Next links (a form and plain links: no script needed).

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use reqwest::Url;

use super::is_object_id;
use crate::api::Forwarded;
use crate::models::Ticket;
use crate::page::{self, Layout, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
    tickets: Vec<Ticket>,
    /// The search, as typed.
    search: String,
    /// `/?before=<id>` (with the search), when newer tickets exist.
    previous: Option<String>,
    /// `/?after=<id>` (with the search), when older tickets exist.
    next: Option<String>,
}

/// The parameters a landing page passes on to the API: the search and a cursor.
const PASSED_ON: [&str; 3] = ["q", "after", "before"];

/// `GET /`, with `q` (a search), `after=<id>` or `before=<id>`: a page of the API's catalogue.
/// A cursor that is not a ticket id is ignored (the first page).
pub async fn landing(
    State(state): State<AppState>,
    forwarded: Forwarded,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, PageError> {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let search = query
        .get("q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let pairs = PASSED_ON.iter().filter_map(|name| {
        let value = query.get(*name)?;
        let fits = if *name == "q" {
            !value.trim().is_empty()
        } else {
            is_object_id(value)
        };
        fits.then_some((*name, value.trim()))
    });
    let path = with_query("/api/tickets", pairs);
    let (user, tickets) = tokio::join!(
        state.api.current_user(&forwarded),
        state.api.get::<Vec<Ticket>>(&forwarded, &path),
    );
    let tickets = tickets?;
    Ok(page::ok(&LandingPage {
        layout: Layout::new("Tickets", user?),
        previous: tickets.link("prev").and_then(landing_page_of),
        next: tickets.link("next").and_then(landing_page_of),
        tickets: tickets.body,
        search,
    }))
}

/// `path` with the query `pairs`, encoded (`path` alone if there are none).
fn with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let Ok(mut url) = Url::parse("http://landing.invalid") else {
        return path.to_owned();
    };
    url.set_path(path);
    url.query_pairs_mut().extend_pairs(pairs);
    match url.query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_owned(),
    }
}

/// The landing page's URL for the API's page link `target`: its search and cursor, nothing
/// else; `None` for a link without a valid cursor.
fn landing_page_of(target: &str) -> Option<String> {
    let url = Url::parse("http://landing.invalid")
        .ok()?
        .join(target)
        .ok()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| PASSED_ON.contains(&name.as_ref()))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let has_cursor = pairs
        .iter()
        .any(|(name, value)| name != "q" && is_object_id(value));
    has_cursor.then(|| {
        with_query(
            "/",
            pairs
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_links_become_landing_page_links_with_their_search() {
        let id = "6b0000000000000000000001";
        assert_eq!(
            landing_page_of(&format!("/api/tickets?limit=100&after={id}")),
            Some(format!("/?after={id}"))
        );
        assert_eq!(
            landing_page_of(&format!(
                "/api/tickets?limit=100&q=rock+z%C3%BCrich&before={id}"
            )),
            Some(format!("/?q=rock+z%C3%BCrich&before={id}"))
        );
        assert_eq!(landing_page_of("/api/tickets?after=javascript:x"), None);
        assert_eq!(
            with_query("/api/tickets", [("q", "a&b=c")]),
            "/api/tickets?q=a%26b%3Dc"
        );
    }
}
