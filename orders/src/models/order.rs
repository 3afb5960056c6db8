//! An order: as stored, as the API shows it, and as the events carry it.

use chrono::{DateTime, Utc};
use common::events::{
    OrderCancelled, OrderCreated, OrderCreatedTicket, OrderStatus, TicketRef, iso_millis,
};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::models::ticket::{TicketDocument, TicketView};

/// An order as stored in the `orders` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDocument {
    /// The order's id.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The id of the user who placed it.
    pub user_id: String,
    /// Where it is in its life.
    pub status: OrderStatus,
    /// When it stops waiting for payment (a BSON date).
    pub expires_at: mongodb::bson::DateTime,
    /// The ticket it is for (its id in the replica).
    pub ticket: ObjectId,
    /// Bumped by exactly one on every change.
    pub version: i64,
}

impl OrderDocument {
    /// A new order at version 0, waiting for payment until `expires_at`.
    pub fn new(user_id: String, ticket: ObjectId, expires_at: DateTime<Utc>) -> Self {
        OrderDocument {
            id: ObjectId::new(),
            user_id,
            status: OrderStatus::Created,
            expires_at: mongodb::bson::DateTime::from_millis(expires_at.timestamp_millis()),
            ticket,
            version: 0,
        }
    }

    /// When it expires, as a chrono time (millisecond precision, as stored).
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.expires_at.timestamp_millis()).unwrap_or_default()
    }

    /// The `order:created` event announcing it, for `ticket` at `price`.
    pub fn created_event(&self, price: f64) -> OrderCreated {
        OrderCreated {
            id: self.id.to_hex(),
            version: self.version,
            status: self.status,
            user_id: self.user_id.clone(),
            expires_at: self.expires_at(),
            ticket: OrderCreatedTicket {
                id: self.ticket.to_hex(),
                price,
            },
        }
    }

    /// The `order:cancelled` event announcing this (cancelled) state.
    pub fn cancelled_event(&self) -> OrderCancelled {
        OrderCancelled {
            id: self.id.to_hex(),
            version: self.version,
            ticket: TicketRef {
                id: self.ticket.to_hex(),
            },
        }
    }
}

/// An order as the API shows it, its ticket embedded:
/// `{"userId","status","expiresAt","ticket":{"title","price","version","id"},"version","id"}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The id of the user who placed it.
    pub user_id: String,
    /// Where it is in its life.
    pub status: OrderStatus,
    /// `2020-05-14T19:00:00.000Z`.
    #[serde(with = "iso_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
    /// The ticket, or `null` if the replica lacks it (as mongoose's populate would say).
    #[schema(required = true)]
    pub ticket: Option<TicketView>,
    /// The order's version.
    pub version: i64,
    /// The order's id (24 hex digits).
    pub id: String,
}

/// An order together with its ticket, ready to be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderTicket {
    /// The order.
    pub order: OrderDocument,
    /// Its ticket, if the replica has it.
    pub ticket: Option<TicketDocument>,
}

impl From<&OrderTicket> for Order {
    fn from(populated: &OrderTicket) -> Self {
        let order = &populated.order;
        Order {
            user_id: order.user_id.clone(),
            status: order.status,
            expires_at: order.expires_at(),
            ticket: populated.ticket.as_ref().map(TicketView::from),
            version: order.version,
            id: order.id.to_hex(),
        }
    }
}
