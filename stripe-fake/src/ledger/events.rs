//! The events about payment intents, recorded with the change they tell of, and the state of
//! their delivery, which [`crate::webhooks`] updates.

use tokio::sync::Notify;

use super::{Books, Ledger, now};
use crate::entries::{EventEntry, IntentEvent};
use crate::objects;

/// An event on its way: its id and its JSON, serialized once so every attempt sends the same
/// bytes.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) id: String,
    pub(crate) body: String,
}

impl Ledger {
    /// Every event so far, oldest first, with how its delivery went.
    pub fn events(&self) -> Vec<EventEntry> {
        self.books().events.clone()
    }

    /// Woken whenever an event is recorded.
    pub(crate) fn events_recorded(&self) -> &Notify {
        &self.events_recorded
    }

    /// The intents with events still waiting for automatic delivery.
    pub(crate) fn intents_with_pending_events(&self) -> Vec<String> {
        let books = self.books();
        let mut intents: Vec<String> = Vec::new();
        for event in books.events.iter().filter(|event| event.pending()) {
            if !intents.contains(&event.payment_intent) {
                intents.push(event.payment_intent.clone());
            }
        }
        intents
    }

    /// The oldest event of `intent` still waiting for automatic delivery.
    pub(crate) fn next_pending_event(&self, intent: &str) -> Option<Outgoing> {
        self.books()
            .events
            .iter()
            .find(|event| event.payment_intent == intent && event.pending())
            .map(outgoing)
    }

    /// Event `id`, whatever its state.
    pub(crate) fn event(&self, id: &str) -> Option<Outgoing> {
        self.books()
            .events
            .iter()
            .find(|event| event.id == id)
            .map(outgoing)
    }

    /// Whether event `id` still waits for automatic delivery.
    pub(crate) fn event_pending(&self, id: &str) -> bool {
        self.books()
            .events
            .iter()
            .any(|event| event.id == id && event.pending())
    }

    /// One attempt to deliver event `id`: the endpoint's status, none if it was not reached.
    pub(crate) fn record_attempt(&self, id: &str, status: Option<u16>) {
        let mut books = self.books();
        if let Some(event) = books.events.iter_mut().find(|event| event.id == id) {
            event.attempts += 1;
            event.last_status = status;
            event.delivered |= status.is_some_and(|status| (200..300).contains(&status));
        }
    }

    /// The automatic retries of event `id` ran out.
    pub(crate) fn exhaust_retries(&self, id: &str) {
        let mut books = self.books();
        if let Some(event) = books.events.iter_mut().find(|event| event.id == id) {
            event.retries_exhausted = true;
        }
    }
}

fn outgoing(event: &EventEntry) -> Outgoing {
    Outgoing {
        id: event.id.clone(),
        body: event.payload.to_string(),
    }
}

impl Books {
    /// Records that `type_` happened to the intent at `index`, as it is now.
    pub(super) fn record_event(&mut self, type_: IntentEvent, index: usize) {
        let id = self.next_id("evt");
        let created = now();
        let intent = &self.intents[index];
        let payload = objects::event(&id, type_, created, objects::payment_intent(intent));
        let payment_intent = intent.id.clone();
        self.events.push(EventEntry {
            id,
            type_,
            payment_intent,
            created,
            attempts: 0,
            delivered: false,
            retries_exhausted: false,
            last_status: None,
            payload,
        });
    }
}
