//! Replicas: a service's copy of another service's documents, kept in step with its events.
//!
//! A creation event inserts the copy at the event's version; delivered again, it finds the copy
//! there, which counts as done. Every later event carries the version it brings the document
//! to, and is applied only when it is the next one (the rule is
//! [`Outcome::for_versions`]): already applied is a duplicate, a gap waits for the events before
//! it, redelivered. The write is conditional on the version before the event's, so two
//! deliveries racing cannot both apply, and neither is lost: the loser reads the copy and
//! decides again ([`LostRaces`]). What a service adds to its copies of its own (orders'
//! `reservedBy`, payments' `payment`) is never touched here.

use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bus::listener::Outcome;
use crate::contention::LostRaces;

/// A replicated document: it knows the version of the last event applied to it.
pub trait Versioned {
    /// The version of the last event applied.
    fn version(&self) -> i64;
}

/// What applying an event to a replica came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied<T> {
    /// Applied now, or by an earlier delivery: the copy as it now is.
    Current(T),
    /// The copy, or an event before this one, is missing: redeliver it later.
    NotYet,
}

impl<T> Applied<T> {
    /// What the listener answers.
    pub fn outcome(&self) -> Outcome {
        match self {
            Applied::Current(_) => Outcome::Done,
            Applied::NotYet => Outcome::NotYet,
        }
    }
}

/// A collection of copies. Cheap to clone.
pub struct Replica<T: Send + Sync> {
    collection: Collection<T>,
}

impl<T: Send + Sync> Clone for Replica<T> {
    fn clone(&self) -> Self {
        Replica {
            collection: self.collection.clone(),
        }
    }
}

impl<T> Replica<T>
where
    T: Versioned + Serialize + DeserializeOwned + Send + Sync,
{
    /// The copies kept in `collection`.
    pub fn new(collection: Collection<T>) -> Self {
        Replica { collection }
    }

    /// The collection itself, for the service's own reads and transactions.
    pub fn collection(&self) -> &Collection<T> {
        &self.collection
    }

    /// Stores the copy a creation event makes; one already there (a redelivered event) is
    /// left as it is. Done either way.
    pub async fn create(&self, copy: &T) -> mongodb::error::Result<Outcome> {
        match self.collection.insert_one(copy).await {
            Ok(_) => Ok(Outcome::Done),
            Err(error) if crate::mongo::is_duplicate_key(&error) => Ok(Outcome::Done),
            Err(error) => Err(error),
        }
    }

    /// Applies the event that brings copy `id` to `version` by setting `fields` (and the
    /// version), if it is the next one; see the module's doc.
    ///
    /// The next event, the usual case, is one write conditional on the version before it; only
    /// when that matches nothing is the copy read, to tell a duplicate from a gap.
    pub async fn apply(
        &self,
        id: ObjectId,
        version: i64,
        fields: Document,
    ) -> mongodb::error::Result<Applied<T>> {
        let mut set = fields;
        set.insert("version", version);
        let mut races = LostRaces::default();
        loop {
            if let Some(previous) = version.checked_sub(1) {
                let applied = self
                    .collection
                    .find_one_and_update(
                        doc! { "_id": id, "version": previous },
                        doc! { "$set": set.clone() },
                    )
                    .return_document(ReturnDocument::After)
                    .await?;
                if let Some(copy) = applied {
                    return Ok(Applied::Current(copy));
                }
            }
            let Some(copy) = self.collection.find_one(doc! { "_id": id }).await? else {
                return Ok(Applied::NotYet);
            };
            match Outcome::for_versions(copy.version(), version) {
                Some(Outcome::Done) => return Ok(Applied::Current(copy)),
                Some(Outcome::NotYet) => return Ok(Applied::NotYet),
                // Another delivery brought the copy to the version before this one since the
                // write: write again.
                None => races.lost()?,
            }
        }
    }
}
