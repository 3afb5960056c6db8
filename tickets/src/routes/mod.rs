//! The four `/api/tickets` endpoints, and the body the create and update forms share.

mod create;
mod list;
mod show;
mod update;

use axum::Router;
use axum::routing::get;
use common::validation::{Checks, is_present, lenient_string};
use serde::Deserialize;

use crate::models::price::lenient_price;
use crate::startup::AppState;

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

/// `{title, price}` as the forms send them; the price as a JSON number or a numeric string.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default, deserialize_with = "lenient_string")]
    title: String,
    /// `None` when missing or not a price greater than 0.
    #[serde(default, deserialize_with = "lenient_price")]
    price: Option<f64>,
}

impl TicketForm {
    /// `title` not empty, then `price` a number greater than 0 (with the route's message).
    fn check(&self, checks: &mut Checks, price_message: &str) {
        checks
            .check("title", is_present(&self.title), "Title is required")
            .check("price", self.price.is_some(), price_message);
    }

    /// The title and price, once [`TicketForm::check`] passed.
    fn into_parts(self) -> (String, f64) {
        // A missing price failed the check, so the default is never used.
        (self.title, self.price.unwrap_or_default())
    }
}
