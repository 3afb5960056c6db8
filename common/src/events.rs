//! The events services exchange: six subjects, one payload type each.
//!
//! Subjects and JSON keys are exactly the original's. Each payload type names
//! its subject through [`Event`], so publishing or listening on the wrong subject, or with a
//! misspelt field, does not compile.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The subject of every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Subject {
    #[serde(rename = "ticket:created")]
    TicketCreated,
    #[serde(rename = "ticket:updated")]
    TicketUpdated,
    #[serde(rename = "order:created")]
    OrderCreated,
    #[serde(rename = "order:cancelled")]
    OrderCancelled,
    #[serde(rename = "expiration:complete")]
    ExpirationComplete,
    #[serde(rename = "payment:created")]
    PaymentCreated,
}

impl Subject {
    /// Every subject, in the original's order.
    pub const ALL: [Subject; 6] = [
        Subject::TicketCreated,
        Subject::TicketUpdated,
        Subject::OrderCreated,
        Subject::OrderCancelled,
        Subject::ExpirationComplete,
        Subject::PaymentCreated,
    ];

    /// The subject as sent on the bus.
    pub const fn as_str(self) -> &'static str {
        match self {
            Subject::TicketCreated => "ticket:created",
            Subject::TicketUpdated => "ticket:updated",
            Subject::OrderCreated => "order:created",
            Subject::OrderCancelled => "order:cancelled",
            Subject::ExpirationComplete => "expiration:complete",
            Subject::PaymentCreated => "payment:created",
        }
    }

    /// The subject with this name, if it is one of ours.
    pub fn parse(name: &str) -> Option<Subject> {
        Subject::ALL
            .into_iter()
            .find(|subject| subject.as_str() == name)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload that travels on the bus under its own subject.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The subject this payload is published under.
    const SUBJECT: Subject;

    /// The id of what the event is about (the ticket of a ticket event, the order of the
    /// others): a replica handles a subject's events with the same key one after another, in
    /// the order they came.
    fn key(&self) -> &str;
}

/// The status of an order, as stored and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum OrderStatus {
    /// Reserved, waiting for payment.
    #[serde(rename = "created")]
    Created,
    /// Cancelled by the user or expired; the ticket is free again.
    #[serde(rename = "cancelled")]
    Cancelled,
    /// Defined by the original and counted as reserving, but never assigned.
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    /// Paid.
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    /// The status as stored and sent: `created`, `cancelled`, `awaiting:payment`, `complete`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Complete => "complete",
        }
    }
}

impl From<OrderStatus> for mongodb::bson::Bson {
    fn from(status: OrderStatus) -> Self {
        mongodb::bson::Bson::String(status.as_str().to_owned())
    }
}

/// `ticket:created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketCreated {
    pub id: String,
    pub title: String,
    #[serde(serialize_with = "js_number::serialize")]
    pub price: f64,
    pub user_id: String,
    pub version: i64,
}

/// `ticket:updated`; `orderId` is present only while the ticket is reserved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketUpdated {
    pub id: String,
    pub title: String,
    #[serde(serialize_with = "js_number::serialize")]
    pub price: f64,
    pub user_id: String,
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// The ticket as `order:created` carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCreatedTicket {
    pub id: String,
    #[serde(serialize_with = "js_number::serialize")]
    pub price: f64,
}

/// `order:created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub id: String,
    pub version: i64,
    pub status: OrderStatus,
    pub user_id: String,
    #[serde(with = "iso_millis")]
    pub expires_at: DateTime<Utc>,
    pub ticket: OrderCreatedTicket,
}

/// The ticket as `order:cancelled` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    pub id: String,
}

/// `order:cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub id: String,
    pub version: i64,
    pub ticket: TicketRef,
}

/// `expiration:complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationComplete {
    pub order_id: String,
}

/// `payment:created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreated {
    pub id: String,
    pub order_id: String,
    pub stripe_id: String,
}

/// Ties each payload type to its subject and its key.
macro_rules! events {
    ($($event:ident => $subject:ident by $key:ident),* $(,)?) => {
        $(impl Event for $event {
            const SUBJECT: Subject = Subject::$subject;

            fn key(&self) -> &str {
                &self.$key
            }
        })*
    };
}

events! {
    TicketCreated => TicketCreated by id,
    TicketUpdated => TicketUpdated by id,
    OrderCreated => OrderCreated by id,
    OrderCancelled => OrderCancelled by id,
    ExpirationComplete => ExpirationComplete by order_id,
    PaymentCreated => PaymentCreated by order_id,
}

/// Numbers as JavaScript's `JSON.stringify` writes them: a whole price is `20`, not `20.0`.
pub mod js_number {
    use serde::Serializer;

    /// Serializes whole numbers (within 2^53) as integers, others as floats.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        const SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
        if value.fract() == 0.0 && value.abs() < SAFE {
            #[allow(clippy::cast_possible_truncation, reason = "whole and within 2^53")]
            serializer.serialize_i64(*value as i64)
        } else {
            serializer.serialize_f64(*value)
        }
    }
}

/// Timestamps as JavaScript's `toISOString()` writes them: UTC, milliseconds, `Z`.
pub mod iso_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `2020-05-14T19:00:00.000Z`.
    pub fn format(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Serializes as [`format()`] does.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(value: &serde_json::Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn subjects_are_the_originals() {
        let names: Vec<&str> = Subject::ALL
            .iter()
            .map(|subject| subject.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "ticket:created",
                "ticket:updated",
                "order:created",
                "order:cancelled",
                "expiration:complete",
                "payment:created"
            ]
        );
        for subject in Subject::ALL {
            assert_eq!(Subject::parse(subject.as_str()), Some(subject));
            assert_eq!(
                serde_json::to_value(subject).unwrap(),
                json!(subject.as_str())
            );
        }
        assert_eq!(Subject::parse("order:updated"), None);
    }

    #[test]
    fn payload_keys_are_the_originals() {
        let id = "5f1c9a7e2d4b3a0012345678".to_owned();
        let ticket_created = TicketCreated {
            id: id.clone(),
            title: "concert".into(),
            price: 20.0,
            user_id: id.clone(),
            version: 0,
        };
        assert_eq!(
            keys(&json!(ticket_created)),
            ["id", "price", "title", "userId", "version"]
        );

        let mut ticket_updated = TicketUpdated {
            id: id.clone(),
            title: "concert".into(),
            price: 20.0,
            user_id: id.clone(),
            version: 1,
            order_id: None,
        };
        assert_eq!(
            keys(&json!(ticket_updated)),
            ["id", "price", "title", "userId", "version"]
        );
        ticket_updated.order_id = Some(id.clone());
        assert_eq!(
            keys(&json!(ticket_updated)),
            ["id", "orderId", "price", "title", "userId", "version"]
        );

        let expires_at = DateTime::parse_from_rfc3339("2020-05-14T19:00:00Z")
            .unwrap()
            .to_utc();
        let order_created = OrderCreated {
            id: id.clone(),
            version: 0,
            status: OrderStatus::Created,
            user_id: id.clone(),
            expires_at,
            ticket: OrderCreatedTicket {
                id: id.clone(),
                price: 20.0,
            },
        };
        let value = json!(order_created);
        assert_eq!(
            keys(&value),
            ["expiresAt", "id", "status", "ticket", "userId", "version"]
        );
        assert_eq!(value["expiresAt"], "2020-05-14T19:00:00.000Z");
        assert_eq!(value["status"], "created");
        assert_eq!(keys(&value["ticket"]), ["id", "price"]);

        let cancelled = OrderCancelled {
            id: id.clone(),
            version: 1,
            ticket: TicketRef { id: id.clone() },
        };
        assert_eq!(keys(&json!(cancelled)), ["id", "ticket", "version"]);
        assert_eq!(
            keys(&json!(ExpirationComplete {
                order_id: id.clone()
            })),
            ["orderId"]
        );
        let payment = PaymentCreated {
            id: id.clone(),
            order_id: id,
            stripe_id: "ch_1".into(),
        };
        assert_eq!(keys(&json!(payment)), ["id", "orderId", "stripeId"]);
    }

    #[test]
    fn prices_are_written_as_javascript_would() {
        let ticket = OrderCreatedTicket {
            id: "t".into(),
            price: 20.0,
        };
        assert_eq!(
            serde_json::to_string(&ticket).unwrap(),
            r#"{"id":"t","price":20}"#
        );
        let ticket = OrderCreatedTicket {
            id: "t".into(),
            price: 19.99,
        };
        assert_eq!(
            serde_json::to_string(&ticket).unwrap(),
            r#"{"id":"t","price":19.99}"#
        );
    }

    #[test]
    fn order_statuses_are_the_originals() {
        let statuses = [
            (OrderStatus::Created, "created"),
            (OrderStatus::Cancelled, "cancelled"),
            (OrderStatus::AwaitingPayment, "awaiting:payment"),
            (OrderStatus::Complete, "complete"),
        ];
        for (status, text) in statuses {
            assert_eq!(json!(status), json!(text));
            assert_eq!(status.as_str(), text);
            assert_eq!(
                mongodb::bson::Bson::from(status),
                mongodb::bson::Bson::from(text)
            );
            assert_eq!(
                serde_json::from_value::<OrderStatus>(json!(text)).unwrap(),
                status
            );
        }
    }

    #[test]
    fn events_name_their_subjects_and_round_trip() {
        fn round_trip<E: Event + PartialEq + std::fmt::Debug>(event: E, subject: &str) {
            assert_eq!(E::SUBJECT.as_str(), subject);
            let bytes = serde_json::to_vec(&event).unwrap();
            assert_eq!(serde_json::from_slice::<E>(&bytes).unwrap(), event);
        }
        round_trip(
            ExpirationComplete {
                order_id: "o".into(),
            },
            "expiration:complete",
        );
        round_trip(
            PaymentCreated {
                id: "p".into(),
                order_id: "o".into(),
                stripe_id: "ch".into(),
            },
            "payment:created",
        );
        round_trip(
            OrderCancelled {
                id: "o".into(),
                version: 2,
                ticket: TicketRef { id: "t".into() },
            },
            "order:cancelled",
        );
    }
}
