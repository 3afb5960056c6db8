//! `GET /api/tickets`: the tickets still for sale, one page at a time.
//!
//! The answer keeps the original's shape, a JSON array of tickets, so its client still works;
//! it holds one page, newest first, with a `Link` header to its neighbours (see
//! [`common::paging`]). `q` keeps the tickets whose titles have every word of it.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use common::paging::{Page, PageQuery, query_value};
use common::validation::Checks;
use common::{ApiError, Json};

use crate::models::Ticket;
use crate::models::ticket::words_of;
use crate::state::AppState;

/// The longest search, in characters.
const MAX_SEARCH_CHARS: usize = 100;
/// The most words a search may have.
const MAX_SEARCH_WORDS: usize = 8;

/// 200 with a page of unreserved tickets, newest first, and a `Link` header to its
/// neighbours; 400 with a field error for a bad `limit`, `after`, `before` or `q`.
#[utoipa::path(get, path = "/api/tickets", tag = "tickets",
    params(
        PageQuery,
        ("q" = Option<String>, Query,
            description = "Words the title must all have: at most 100 characters and 8 words"),
    ),
    responses(
        (status = 200, description = "A page of unreserved tickets, newest first",
            body = Vec<Ticket>,
            headers(("Link" = String, description = "RFC 8288 links to the next and previous pages, when there are any"))),
    ))]
pub async fn list_tickets(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<(HeaderMap, Json<Vec<Ticket>>), ApiError> {
    let Query(query) = query.map_err(|_| ApiError::malformed())?;
    let mut checks = Checks::default();
    let page = Page::from_query(&query, &mut checks);
    let search = query.get("q").map(|text| text.trim()).unwrap_or_default();
    let words = words_of(search);
    checks
        .check(
            "q",
            search.chars().count() <= MAX_SEARCH_CHARS,
            "Search must be at most 100 characters",
        )
        .check(
            "q",
            words.len() <= MAX_SEARCH_WORDS,
            "Search must be at most 8 words",
        );
    checks.finish()?;
    let page = page.ok_or_else(ApiError::malformed)?;
    let listed = state.tickets.list_available(&page, &words).await?;
    let extra = if words.is_empty() {
        String::new()
    } else {
        format!("&q={}", query_value(&words.join(" ")))
    };
    let mut headers = HeaderMap::new();
    if let Some(links) = listed.link_header("/api/tickets", &page, &extra, |ticket| ticket.id) {
        headers.insert(header::LINK, links);
    }
    let tickets = listed.items.into_iter().map(Ticket::from).collect();
    Ok((headers, Json(tickets)))
}
