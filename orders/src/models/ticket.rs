//! A ticket as the orders service knows it: a replica of the tickets service's ticket, plus
//! which order holds it.

use common::events::{TicketCreated, js_number};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

/// A ticket as stored in the `tickets` collection of the orders database.
///
/// `_id`, `title`, `price`, `version` and `userId` are copied from the tickets service's events;
/// `reservedBy` is this service's own: the order holding the ticket (created or complete), set
/// and cleared only by the orders service, never by a replicated update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketDocument {
    /// The tickets service's id for it.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// What the ticket is for.
    pub title: String,
    /// Its price.
    pub price: f64,
    /// The version of the last event applied (docs/decisions.md #13: copied, not counted).
    pub version: i64,
    /// The active order holding it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_by: Option<ObjectId>,
    /// Its seller (from the events), who may not order it; absent in replicas made before it
    /// was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl TicketDocument {
    /// The replica of a newly created ticket, at the event's version and unreserved.
    pub fn from_event(id: ObjectId, event: &TicketCreated) -> Self {
        TicketDocument {
            id,
            title: event.title.clone(),
            price: event.price,
            version: event.version,
            reserved_by: None,
            user_id: Some(event.user_id.clone()),
        }
    }
}

/// A ticket as orders embed it: `{"title","price","version","id"}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    /// What the ticket is for.
    pub title: String,
    /// Its price, written as JavaScript would (`20`, not `20.0`).
    #[serde(serialize_with = "js_number::serialize")]
    pub price: f64,
    /// The replica's version.
    pub version: i64,
    /// Its id (24 hex digits).
    pub id: String,
}

impl From<&TicketDocument> for TicketView {
    fn from(ticket: &TicketDocument) -> Self {
        TicketView {
            title: ticket.title.clone(),
            price: ticket.price,
            version: ticket.version,
            id: ticket.id.to_hex(),
        }
    }
}
