//! The four `/api/tickets` endpoints, and the body the create and update forms share.

mod create;
mod list;
mod show;
mod update;

use axum::Router;
use common::openapi::Documented;
use common::validation::{Checks, is_present, trimmed_string};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::models::price::{self, lenient_price};
use crate::state::AppState;

pub use create::create_ticket;
pub use list::list_tickets;
pub use show::show_ticket;
pub use update::update_ticket;

/// What the tickets service's OpenAPI document says of it, and where it is served.
pub const DOCUMENTED: Documented = Documented {
    service: "tickets",
    version: env!("CARGO_PKG_VERSION"),
    description: "Tickets for sale: list, search, show, create and edit them.",
    path: "/api/tickets/docs/openapi.json",
};

/// The tickets routes, each with its description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_tickets, create::create_ticket))
        .routes(routes!(show::show_ticket, update::update_ticket))
}

/// The tickets routes, and their OpenAPI document at [`DOCUMENTED`]'s path.
pub fn router() -> Router<AppState> {
    DOCUMENTED.router(api())
}

/// The OpenAPI document the service serves (checked in as `docs/openapi/tickets.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENTED.document(api())
}

/// The longest title, in characters after trimming: a listing fits a table row, and a page of
/// tickets stays small.
pub const MAX_TITLE_CHARS: usize = 120;

/// `{title, price}` as the forms send them; the price as a JSON number or a numeric string.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TicketForm {
    /// 1 to 120 characters once trimmed.
    #[serde(default, deserialize_with = "trimmed_string")]
    #[schema(required = true, schema_with = common::openapi::lenient_text)]
    title: String,
    /// From 0.50 to 999,999.99, in whole cents. `None` when missing or not a price greater
    /// than 0.
    #[serde(default, deserialize_with = "lenient_price")]
    #[schema(required = true, schema_with = common::openapi::number_or_numeric_text)]
    price: Option<f64>,
}

impl TicketForm {
    /// `title` present and at most [`MAX_TITLE_CHARS`] characters, then `price` a number
    /// greater than 0 (with the route's message for the original's cases) that Stripe can
    /// charge: at most two decimals, within [`price::MIN_PRICE`] and [`price::MAX_PRICE`].
    fn check(&self, checks: &mut Checks, price_message: &str) {
        let title_fits = self.title.chars().count() <= MAX_TITLE_CHARS;
        checks
            .check("title", is_present(&self.title), "Title is required")
            .check("title", title_fits, "Title must be at most 120 characters");
        let price_problem = match self.price {
            None => Some(price_message),
            Some(price) => price::chargeable(price).err(),
        };
        if let Some(message) = price_problem {
            checks.check("price", false, message);
        }
    }

    /// The title (trimmed) and price, once [`TicketForm::check`] passed.
    fn into_parts(self) -> (String, f64) {
        // A missing price failed the check, so the default is never used.
        (self.title, self.price.unwrap_or_default())
    }
}
