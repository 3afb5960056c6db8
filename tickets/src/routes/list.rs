//! `GET /api/tickets`: the tickets still for sale, one page at a time.
//!
//! The answer keeps the original's shape, a JSON array of tickets, so its client still works;
//! it holds at most one page, newest first. `limit` (1 to 100, default 100) sizes the page,
//! `after=<id>` continues below a ticket and `before=<id>` goes back above one. Where more
//! tickets exist, an RFC 8288 `Link` header names the next (`rel="next"`) and previous
//! (`rel="prev"`) pages.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use common::validation::Checks;
use common::{ApiError, Json};
use mongodb::bson::oid::ObjectId;

use crate::models::{Cursor, MAX_PAGE, Page, Ticket};
use crate::startup::AppState;

/// 200 with a page of unreserved tickets, newest first, and a `Link` header to its
/// neighbours; 400 with a field error for a bad `limit`, `after` or `before`.
pub async fn list_tickets(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<(HeaderMap, Json<Vec<Ticket>>), ApiError> {
    let Query(query) = query.map_err(|_| ApiError::malformed())?;
    let page = page_of(&query)?;
    let listed = state.tickets.list_available(page).await?;
    let mut links = Vec::new();
    let link = |cursor: &str, id: ObjectId, rel: &str| {
        format!(
            "</api/tickets?limit={}&{cursor}={}>; rel=\"{rel}\"",
            page.limit,
            id.to_hex()
        )
    };
    if listed.older
        && let Some(last) = listed.tickets.last()
    {
        links.push(link("after", last.id, "next"));
    }
    if listed.newer {
        let first = listed.tickets.first().map(|ticket| ticket.id);
        let anchor = first.or(match page.cursor {
            Cursor::After(id) => Some(id),
            _ => None,
        });
        if let Some(id) = anchor {
            links.push(link("before", id, "prev"));
        }
    }
    let mut headers = HeaderMap::new();
    if !links.is_empty()
        && let Ok(value) = HeaderValue::try_from(links.join(", "))
    {
        headers.insert(header::LINK, value);
    }
    let tickets = listed.tickets.into_iter().map(Ticket::from).collect();
    Ok((headers, Json(tickets)))
}

/// The page the query asks for; every problem is a field error, in the order limit, after,
/// before.
fn page_of(query: &HashMap<String, String>) -> Result<Page, ApiError> {
    let limit = match query.get("limit") {
        None => Some(MAX_PAGE),
        Some(text) => text
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit)),
    };
    let id = |name: &str| {
        query
            .get(name)
            .map(|text| ObjectId::parse_str(text.trim()).ok())
    };
    let (after, before) = (id("after"), id("before"));
    let mut checks = Checks::default();
    checks
        .check(
            "limit",
            limit.is_some(),
            "Limit must be a whole number from 1 to 100",
        )
        .check(
            "after",
            !matches!(after, Some(None)),
            "After must be a ticket id",
        )
        .check(
            "before",
            !matches!(before, Some(None)),
            "Before must be a ticket id",
        )
        .check(
            "before",
            !(matches!(after, Some(Some(_))) && matches!(before, Some(Some(_)))),
            "Give after or before, not both",
        );
    checks.finish()?;
    let cursor = match (after.flatten(), before.flatten()) {
        (Some(id), _) => Cursor::After(id),
        (None, Some(id)) => Cursor::Before(id),
        (None, None) => Cursor::Start,
    };
    Ok(Page {
        limit: limit.unwrap_or(MAX_PAGE),
        cursor,
    })
}
