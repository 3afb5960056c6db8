//! The four `/api/tickets` endpoints, and the body the create and update forms share.

mod create;
mod list;
mod show;
mod update;

use axum::Router;
use axum::routing::get;
use common::validation::{Checks, is_present, trimmed_string};
use serde::Deserialize;

use crate::models::price::{self, lenient_price};
use crate::state::AppState;

pub use create::create_ticket;
pub use list::list_tickets;
pub use show::show_ticket;
pub use update::update_ticket;

/// The tickets routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tickets", get(list_tickets).post(create_ticket))
        .route("/api/tickets/{id}", get(show_ticket).put(update_ticket))
}

/// The longest title, in characters after trimming: a listing fits a table row, and a page of
/// tickets stays small.
pub const MAX_TITLE_CHARS: usize = 120;

/// `{title, price}` as the forms send them; the price as a JSON number or a numeric string.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default, deserialize_with = "trimmed_string")]
    title: String,
    /// `None` when missing or not a price greater than 0.
    #[serde(default, deserialize_with = "lenient_price")]
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
