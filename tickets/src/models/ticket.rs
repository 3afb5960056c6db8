//! A ticket: as stored, as the API shows it, and as the events carry it.

use common::events::{TicketCreated, TicketUpdated, js_number};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

/// A ticket as stored in the `tickets` collection.
///
/// `orderId` is present only while the ticket is reserved; `version` counts the saves since
/// creation (0 for a new ticket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketDocument {
    /// The ticket's id.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// What the ticket is for.
    pub title: String,
    /// Its price, greater than 0.
    pub price: f64,
    /// The id of the user who created it.
    pub user_id: String,
    /// The order reserving it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Bumped by exactly one on every save.
    pub version: i64,
    /// The last [`CANCELLATIONS_KEPT`] orders known to be cancelled, oldest first, that may
    /// still ask to reserve it: `order:created` and `order:cancelled` travel on different
    /// subjects, so a cancellation can arrive before (or a redelivered creation after) the
    /// reservation it undoes. Why the recent ones are enough: [`crate::models::changes`].
    /// Internal: never shown or sent.
    #[serde(default)]
    pub cancelled_order_ids: Vec<String>,
    /// How many cancellations were ever noted. Noting one bumps no version, so every write is
    /// conditional on this count too: the list's length stops telling once it is full.
    /// Internal: never shown or sent.
    #[serde(default)]
    pub cancellations_noted: i64,
    /// The title's words, lower-cased ([`words_of`]), for search; kept in step with the
    /// title on every save. Internal: never shown or sent.
    #[serde(default)]
    pub words: Vec<String>,
}

/// How many cancelled orders a ticket remembers (see [`crate::models::changes`]).
pub const CANCELLATIONS_KEPT: usize = 100;

/// The longest word kept for search, in characters.
const MAX_WORD_CHARS: usize = 40;

/// The searchable words of `text`: runs of letters and digits, lower-cased, each once, at most
/// [`MAX_WORD_CHARS`] characters, in order of first appearance.
pub fn words_of(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

impl TicketDocument {
    /// A new, unreserved ticket at version 0.
    pub fn new(title: String, price: f64, user_id: String) -> Self {
        TicketDocument {
            id: ObjectId::new(),
            words: words_of(&title),
            title,
            price,
            user_id,
            order_id: None,
            version: 0,
            cancelled_order_ids: Vec::new(),
            cancellations_noted: 0,
        }
    }

    /// Whether `order_id` is one of the cancelled orders it remembers.
    pub fn knows_cancelled(&self, order_id: &str) -> bool {
        self.cancelled_order_ids.iter().any(|id| id == order_id)
    }

    /// Remembers that `order_id` was cancelled (unless it already does), forgetting the oldest
    /// beyond [`CANCELLATIONS_KEPT`]; whether it was new.
    pub fn note_cancelled(&mut self, order_id: &str) -> bool {
        if self.knows_cancelled(order_id) {
            return false;
        }
        self.cancelled_order_ids.push(order_id.to_owned());
        let excess = self
            .cancelled_order_ids
            .len()
            .saturating_sub(CANCELLATIONS_KEPT);
        self.cancelled_order_ids.drain(..excess);
        self.cancellations_noted += 1;
        true
    }

    /// Whether an order holds it.
    pub fn is_reserved(&self) -> bool {
        self.order_id.is_some()
    }

    /// The `ticket:created` event announcing it.
    pub fn created_event(&self) -> TicketCreated {
        TicketCreated {
            id: self.id.to_hex(),
            title: self.title.clone(),
            price: self.price,
            user_id: self.user_id.clone(),
            version: self.version,
        }
    }

    /// The `ticket:updated` event announcing this state (with `orderId` only when reserved).
    pub fn updated_event(&self) -> TicketUpdated {
        TicketUpdated {
            id: self.id.to_hex(),
            title: self.title.clone(),
            price: self.price,
            user_id: self.user_id.clone(),
            version: self.version,
            order_id: self.order_id.clone(),
        }
    }
}

/// A ticket as the API shows it: `{"title","price","userId","orderId"?,"version","id"}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// What the ticket is for.
    pub title: String,
    /// Written as JavaScript would: `20`, not `20.0`.
    #[serde(serialize_with = "js_number::serialize")]
    pub price: f64,
    /// The creator's id.
    pub user_id: String,
    /// Present only while reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The document's version.
    pub version: i64,
    /// 24 hex digits.
    pub id: String,
}

impl From<TicketDocument> for Ticket {
    fn from(document: TicketDocument) -> Self {
        Ticket {
            id: document.id.to_hex(),
            title: document.title,
            price: document.price,
            user_id: document.user_id,
            order_id: document.order_id,
            version: document.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_of_a_title_are_its_letters_and_digits_lower_cased_once() {
        assert_eq!(
            words_of("Rock & Roll: ROCK night 2026, Zürich!"),
            ["rock", "roll", "night", "2026", "zürich"]
        );
        assert!(words_of("  -- !! ").is_empty());
        assert_eq!(words_of(&"a".repeat(100))[0].len(), 40);
    }
    use serde_json::json;

    #[test]
    fn json_has_the_originals_keys_and_order_id_only_while_reserved() {
        let mut document = TicketDocument::new("concert".into(), 20.0, "u1".into());
        let id = document.id.to_hex();
        let free = serde_json::to_value(Ticket::from(document.clone())).unwrap();
        assert_eq!(
            free,
            json!({"title": "concert", "price": 20, "userId": "u1", "version": 0, "id": id})
        );
        assert_eq!(
            serde_json::to_string(&Ticket::from(document.clone())).unwrap(),
            format!(r#"{{"title":"concert","price":20,"userId":"u1","version":0,"id":"{id}"}}"#)
        );
        document.order_id = Some("o1".into());
        document.price = 12.5;
        let reserved = serde_json::to_value(Ticket::from(document)).unwrap();
        assert_eq!(reserved["orderId"], "o1");
        assert_eq!(reserved["price"], 12.5);
    }

    #[test]
    fn only_the_last_cancellations_are_remembered_and_every_one_is_counted() {
        let mut document = TicketDocument::new("concert".into(), 20.0, "u1".into());
        let orders: Vec<String> = (0..CANCELLATIONS_KEPT + 5)
            .map(|n| format!("o{n}"))
            .collect();
        for order in &orders {
            assert!(document.note_cancelled(order));
        }
        assert!(!document.note_cancelled(&orders[CANCELLATIONS_KEPT + 4]));
        assert_eq!(document.cancelled_order_ids, orders[5..]);
        assert_eq!(document.cancellations_noted, 105);
        assert!(document.knows_cancelled(&orders[5]));
        assert!(
            !document.knows_cancelled(&orders[4]),
            "the oldest are forgotten"
        );
    }

    #[test]
    fn events_carry_the_state_and_order_id_only_while_reserved() {
        let mut document = TicketDocument::new("concert".into(), 20.0, "u1".into());
        let created = serde_json::to_value(document.created_event()).unwrap();
        assert_eq!(created["price"], json!(20));
        assert!(created.get("orderId").is_none());
        assert!(
            serde_json::to_value(document.updated_event())
                .unwrap()
                .get("orderId")
                .is_none()
        );
        document.order_id = Some("o1".into());
        document.version = 1;
        let updated = document.updated_event();
        assert_eq!(updated.order_id.as_deref(), Some("o1"));
        assert_eq!(updated.version, 1);
    }
}
