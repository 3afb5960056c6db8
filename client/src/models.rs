//! The API's JSON, as far as pages use it.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::price;

/// A ticket (`GET /api/tickets`, `GET /api/tickets/:id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub title: String,
    /// Its price in dollars.
    pub price: f64,
    /// The order holding it, while one does.
    #[serde(default)]
    pub order_id: Option<String>,
}

impl Ticket {
    /// The price with two decimals.
    pub fn price_text(&self) -> String {
        price::display(self.price)
    }
}

/// An order (`GET /api/orders`, `GET /api/orders/:id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Its id.
    pub id: String,
    /// `created`, `awaiting:payment`, `complete` or `cancelled`.
    pub status: String,
    /// When it stops holding its ticket.
    pub expires_at: DateTime<Utc>,
    /// The ticket it is for.
    pub ticket: OrderTicket,
}

/// The ticket embedded in an order.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderTicket {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub title: String,
    /// Its price in dollars.
    pub price: f64,
}

/// The answer of a create: `{"id": ...}` (an order, a payment).
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    /// The new thing's id.
    pub id: String,
}

impl Order {
    /// The status as a CSS class suffix (`awaiting:payment` → `awaiting-payment`).
    pub fn status_class(&self) -> String {
        self.status.replace(':', "-")
    }
}
