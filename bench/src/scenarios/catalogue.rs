//! A page of the catalogue (`GET /api/tickets`) when it holds 100 tickets and when it holds
//! 100,000, side by side: pages are read through the catalogue's indexes (tickets'
//! `ensure_indexes`), so a page should cost the same at both sizes.
//!
//! It runs on a stack of its own once 100 tickets are listed through the API: three requests
//! measured with wrk (the first page, the page after it, a search), then tickets stored straight
//! into the tickets service's database up to [`LARGE_CATALOGUE`] (through the API that would take
//! minutes), the same three requests again, and the stored tickets deleted.

use std::time::Instant;

use anyhow::Context as _;
use mongodb::bson::doc;
use serde::{Deserialize, Serialize};
use tickets::models::TicketDocument;

use crate::api::Api;
use crate::scenarios::http::{self, HttpResult, Via};
use crate::scenarios::{progress, quiet_machine};
use crate::target::Stack;
use crate::wrk::{self, Body, Run};

/// How many tickets the large catalogue holds.
pub const LARGE_CATALOGUE: u64 = 100_000;

/// Open connections of each run: one level, to keep the scenario within seconds.
const CONNECTIONS: u32 = 16;

/// Tickets stored per `insert_many`.
const BATCH: usize = 10_000;

/// The seller of the stored tickets, by which they are deleted afterwards.
const SELLER: &str = "ticketing-bench-catalogue";

/// The word searched for: every ticket the bench creates has it in its title.
const SEARCHED: &str = "bench";

/// The requests measured at each size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `GET /api/tickets`: the newest page.
    FirstPage,
    /// `GET /api/tickets?after=<id>`: the page after it.
    NextPage,
    /// `GET /api/tickets?q=bench`: a page of a search.
    Search,
}

impl Request {
    /// All of them, in run order.
    pub const ALL: [Request; 3] = [Request::FirstPage, Request::NextPage, Request::Search];

    /// What the report calls it.
    pub fn label(self) -> String {
        match self {
            Request::FirstPage => "GET /api/tickets".to_owned(),
            Request::NextPage => "GET /api/tickets?after=<last of the first page>".to_owned(),
            Request::Search => format!("GET /api/tickets?q={SEARCHED}"),
        }
    }

    /// A short name for script files.
    fn slug(self) -> &'static str {
        match self {
            Request::FirstPage => "first-page",
            Request::NextPage => "next-page",
            Request::Search => "search",
        }
    }

    /// The query string, given the last ticket of the first page (if it has any).
    fn query(self, last_of_first: Option<&str>) -> String {
        match (self, last_of_first) {
            (Request::FirstPage, _) => String::new(),
            (Request::NextPage, Some(last)) => format!("?after={last}"),
            // An empty catalogue has no page after the first: ask for the first again.
            (Request::NextPage, None) => String::new(),
            (Request::Search, _) => format!("?q={SEARCHED}"),
        }
    }
}

/// One request measured at one catalogue size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CataloguePage {
    /// Unreserved tickets in the catalogue while it was measured.
    pub catalogue: u64,
    /// Tickets on the page answered (the page after the first is empty at 100 tickets).
    pub on_page: usize,
    /// The wrk run; its `endpoint` is the request's label.
    pub http: HttpResult,
}

/// Measures the three requests at the catalogue's size now and at [`LARGE_CATALOGUE`] tickets.
pub async fn run(stack: &Stack) -> anyhow::Result<Vec<CataloguePage>> {
    let catalogue = Catalogue::connect(&stack.tickets_mongo_uri).await?;
    let tickets = Api::new(&stack.service("tickets")?.url())?;
    let mut pages = measure_all(stack, &tickets, catalogue.size().await?).await?;
    let stored = catalogue.fill_to(LARGE_CATALOGUE).await?;
    let result = async {
        let size = catalogue.size().await?;
        measure_all(stack, &tickets, size).await
    }
    .await;
    // Deleted whether or not the runs succeeded: the database is left as the scenario found it.
    let started = Instant::now();
    catalogue.delete_stored().await?;
    progress(format_args!(
        "deleted the {stored} stored tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    pages.extend(result?);
    Ok(pages)
}

/// The three requests against a catalogue of `size` unreserved tickets.
async fn measure_all(
    stack: &Stack,
    tickets: &Api,
    size: u64,
) -> anyhow::Result<Vec<CataloguePage>> {
    let first = tickets.list_tickets("").await?;
    let last_of_first = first.last().map(|ticket| ticket.id.clone());
    let mut pages = Vec::new();
    for request in Request::ALL {
        let query = request.query(last_of_first.as_deref());
        let on_page = tickets.list_tickets(&query).await?.len();
        let page = measure(stack, request, &query, size, on_page).await?;
        progress(format_args!(
            "{:<52} {size:>7} tickets, {on_page:>3} on the page: {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms{}",
            page.http.endpoint,
            page.http.per_second,
            page.http.wrk.p50_us as f64 / 1000.0,
            page.http.wrk.p99_us as f64 / 1000.0,
            http::error_note(&page.http.wrk),
        ));
        pages.push(page);
    }
    Ok(pages)
}

async fn measure(
    stack: &Stack,
    request: Request,
    query: &str,
    size: u64,
    on_page: usize,
) -> anyhow::Result<CataloguePage> {
    let base = stack.service("tickets")?.url();
    http::settle(&base).await?;
    quiet_machine(&format!("{} at {size} tickets", request.label())).await?;
    let run = Run {
        url: format!("{base}/api/tickets{query}"),
        connections: CONNECTIONS,
        duration: stack.run_time,
        cookie: None,
        body: Body::Get,
    };
    let name = format!("catalogue-{size}-{}-c{CONNECTIONS}", request.slug());
    let output = wrk::run(&stack.wrk, &stack.work_dir, &name, &run)
        .await
        .with_context(|| format!("wrk {} at {size} tickets", request.label()))?;
    Ok(CataloguePage {
        catalogue: size,
        on_page,
        http: HttpResult {
            endpoint: request.label(),
            via: Via::Direct,
            connections: CONNECTIONS,
            per_second: output.ok_per_second(),
            wrk: output,
            command: wrk::display_command(&run, &format!("{name}.lua")),
            database_cpu_us: None,
        },
    })
}

/// The tickets service's `tickets` collection, reached directly.
struct Catalogue {
    collection: mongodb::Collection<TicketDocument>,
}

impl Catalogue {
    /// Connects as the tickets service does (its URI names its database).
    async fn connect(uri: &str) -> anyhow::Result<Catalogue> {
        // The URI holds the service's password: it stays out of the messages.
        let client = mongodb::Client::with_uri_str(uri)
            .await
            .context("could not connect to the tickets database")?;
        let database = client
            .default_database()
            .context("BENCH_TICKETS_MONGO_URI names no database")?;
        Ok(Catalogue {
            collection: database.collection("tickets"),
        })
    }

    /// Unreserved tickets: what the catalogue lists.
    async fn size(&self) -> anyhow::Result<u64> {
        self.collection
            .count_documents(doc! { "orderId": null })
            .await
            .context("could not count the tickets")
    }

    /// Stores tickets in batches until the catalogue holds `target`; how many it stored.
    async fn fill_to(&self, target: u64) -> anyhow::Result<u64> {
        let missing = target.saturating_sub(self.size().await?);
        let started = Instant::now();
        let mut stored: u64 = 0;
        while stored < missing {
            let batch = (missing - stored).min(BATCH as u64);
            let tickets: Vec<TicketDocument> =
                (stored..stored + batch).map(stored_ticket).collect();
            self.collection
                .insert_many(tickets)
                .ordered(false)
                .await
                .context("could not store tickets")?;
            stored += batch;
        }
        progress(format_args!(
            "stored {stored} tickets in the tickets database in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        Ok(stored)
    }

    /// Deletes the tickets [`Catalogue::fill_to`] stored.
    async fn delete_stored(&self) -> anyhow::Result<()> {
        self.collection
            .delete_many(doc! { "userId": SELLER })
            .await
            .context("could not delete the stored tickets")?;
        Ok(())
    }
}

/// The `index`th stored ticket, as the service would store it (title words included, for the
/// search); every title has [`SEARCHED`] in it, like the ones the bench creates through the API.
fn stored_ticket(index: u64) -> TicketDocument {
    let price = 10.0 + (index % 90) as f64;
    TicketDocument::new(format!("{SEARCHED} seat {index}"), price, SELLER.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_tickets_are_found_by_the_search() {
        let ticket = stored_ticket(42);
        assert_eq!(ticket.words, ["bench", "seat", "42"]);
        assert_eq!(ticket.user_id, SELLER);
        assert_eq!(ticket.version, 0);
        assert!(!ticket.is_reserved());
    }

    #[test]
    fn the_next_page_continues_after_the_first() {
        assert_eq!(Request::FirstPage.query(Some("abc")), "");
        assert_eq!(Request::NextPage.query(Some("abc")), "?after=abc");
        assert_eq!(Request::NextPage.query(None), "");
        assert_eq!(Request::Search.query(None), "?q=bench");
    }
}
