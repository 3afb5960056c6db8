//! `/`: the tickets for sale, one page at a time, as a table of Title / Price / Link with
//! Previous and Next links (plain links: no script needed).

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::api::Forwarded;
use crate::models::Ticket;
use crate::page::{self, Layout, PageError};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
    tickets: Vec<Ticket>,
    /// `/?before=<id>`, when newer tickets exist.
    previous: Option<String>,
    /// `/?after=<id>`, when older tickets exist.
    next: Option<String>,
}

/// `GET /`, `/?after=<id>`, `/?before=<id>`: a page of the API's catalogue. A cursor that is
/// not a ticket id is ignored (the first page).
pub async fn landing(
    State(state): State<AppState>,
    forwarded: Forwarded,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, PageError> {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let cursor = ["after", "before"].into_iter().find_map(|name| {
        let id = query.get(name).filter(|id| is_ticket_id(id))?;
        Some(format!("?{name}={id}"))
    });
    let path = format!("/api/tickets{}", cursor.unwrap_or_default());
    let (user, tickets) = tokio::join!(
        state.api.current_user(&forwarded),
        state.api.get::<Vec<Ticket>>(&forwarded, &path),
    );
    let tickets = tickets?;
    Ok(page::ok(&LandingPage {
        layout: Layout::new("Tickets", user?),
        previous: tickets
            .link("prev")
            .and_then(|target| page_of(target, "before")),
        next: tickets
            .link("next")
            .and_then(|target| page_of(target, "after")),
        tickets: tickets.body,
    }))
}

/// The landing page's URL for an API page link whose cursor is `name` (`after`, `before`).
fn page_of(target: &str, name: &str) -> Option<String> {
    let (_, query) = target.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name && is_ticket_id(value)).then(|| format!("/?{name}={value}"))
    })
}

/// 24 hexadecimal digits: safe in a URL as it is.
fn is_ticket_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_links_become_landing_page_links() {
        let id = "6b0000000000000000000001";
        assert_eq!(
            page_of(&format!("/api/tickets?limit=100&after={id}"), "after"),
            Some(format!("/?after={id}"))
        );
        assert_eq!(
            page_of(&format!("/api/tickets?limit=100&before={id}"), "after"),
            None
        );
        assert_eq!(page_of("/api/tickets?after=javascript:x", "after"), None);
    }
}
