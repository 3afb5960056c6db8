//! The `buyers` collection: one document per user who has ordered, `{_id: <user id>, orders}`.
//!
//! Its only purpose is a write inside each order's create transaction: two creations by one
//! buyer write the same document, so they conflict and one is retried after the other
//! committed. That makes "count the buyer's unpaid orders, then add one" safe under races
//! (snapshot reads alone would let both count the same total). `orders` counts the attempts.

use mongodb::bson::doc;
use mongodb::{ClientSession, Collection, Database};

/// The buyers collection. Cheap to clone.
#[derive(Clone)]
pub struct Buyers {
    collection: Collection<mongodb::bson::Document>,
}

impl Buyers {
    /// The `buyers` collection of `database`.
    pub fn new(database: &Database) -> Buyers {
        Buyers {
            collection: database.collection("buyers"),
        }
    }

    /// Makes sure `user` has a document, outside any transaction: an insert inside two racing
    /// transactions would be a duplicate key for one of them, not a retried conflict. Called
    /// when [`Buyers::touch`] found none: once per buyer.
    pub async fn ensure(&self, user: &str) -> mongodb::error::Result<()> {
        let inserted = self
            .collection
            .update_one(
                doc! { "_id": user },
                doc! { "$setOnInsert": { "orders": 0_i64 } },
            )
            .upsert(true)
            .await;
        match inserted {
            Err(error) if !common::mongo::is_duplicate_key(&error) => Err(error),
            _ => Ok(()),
        }
    }

    /// Writes `user`'s document in `session`'s transaction (see the module's doc); whether it
    /// has one to write ([`Buyers::ensure`] makes it).
    pub async fn touch(
        &self,
        session: &mut ClientSession,
        user: &str,
    ) -> mongodb::error::Result<bool> {
        let touched = self
            .collection
            .update_one(doc! { "_id": user }, doc! { "$inc": { "orders": 1_i64 } })
            .session(session)
            .await?;
        Ok(touched.matched_count == 1)
    }
}
