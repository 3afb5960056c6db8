//! The `tickets` collection: reading tickets, and writing them versioned, each write with the
//! event it implies: a change touches one ticket, so its event's record goes into the ticket's
//! own outbox array in the same write, without a transaction ([`common::outbox::FIELD`]).
//!
//! Versioning is the original's mongoose-update-if-current: a new ticket is
//! saved at version 0, and every save replaces the document only if it still has the version
//! it was read at, writing that version + 1. A save from a stale read matches nothing and fails
//! with [`SaveError::Stale`]; nothing is written and no event recorded. [`Tickets::change`]
//! wraps this in a re-read-and-retry loop for callers that should win eventually (the owner's
//! edit, the listeners), re-deciding from the fresh state each time.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use mongodb::{Collection, Database};

use common::contention::{Contended, LostRaces, MAX_ATTEMPTS};
use common::mongo::index;
use common::outbox::{Outbox, document_keeping, push_kept};
use common::paging::{Listed, Page};

use crate::models::ticket::TicketDocument;

/// Why a save did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The ticket was saved (or deleted) since it was read: its version moved on.
    #[error("the ticket was changed since it was read")]
    Stale,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

/// What a change decides after looking at the current ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Save the ticket as the change left it (version + 1, with its event).
    Save,
    /// Leave it alone: the change is already applied, or does not apply.
    Keep,
    /// Store internal bookkeeping the change made (no version bump, no event): nobody outside
    /// sees a difference.
    Note,
}

/// What a change did.
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    /// Saved: the ticket as it now is.
    Saved(TicketDocument),
    /// Left alone (or only noted): the ticket as it was.
    Kept(TicketDocument),
}

impl Changed {
    /// The ticket, saved or not.
    pub fn into_ticket(self) -> TicketDocument {
        match self {
            Changed::Saved(ticket) | Changed::Kept(ticket) => ticket,
        }
    }
}

/// Why a change failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E> {
    /// No ticket has this id.
    #[error("ticket not found")]
    NotFound,
    /// The change refused the ticket it was shown.
    #[error("the change was refused: {0:?}")]
    Refused(E),
    /// Other writers won the race every time ([`Contended`]).
    #[error("the ticket kept changing; gave up after {MAX_ATTEMPTS} attempts")]
    Contended,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

impl<E> From<Contended> for ChangeError<E> {
    fn from(_: Contended) -> Self {
        ChangeError::Contended
    }
}

/// The tickets collection, and the outbox its events go to. Cheap to clone.
#[derive(Clone)]
pub struct Tickets {
    collection: Collection<TicketDocument>,
    outbox: Outbox,
}

/// The collection's name.
const COLLECTION: &str = "tickets";

impl Tickets {
    /// The `tickets` collection of `database`, whose tickets keep their events for `outbox`.
    pub fn new(database: &Database, outbox: Outbox) -> Tickets {
        outbox.keep_events_in(COLLECTION);
        Tickets {
            collection: database.collection(COLLECTION),
            outbox,
        }
    }

    /// The ticket with this id.
    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<TicketDocument>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// A page of the tickets no order holds, newest first, whose titles have every one of
    /// `words` (lower-cased, as [`crate::models::ticket::words_of`] makes them; none: any).
    pub async fn list_available(
        &self,
        page: &Page,
        words: &[String],
    ) -> mongodb::error::Result<Listed<TicketDocument>> {
        // `null` matches a missing field, as the original's `find({orderId: undefined})` did.
        let mut filter = doc! { "orderId": null };
        if !words.is_empty() {
            filter.insert("words", doc! { "$all": words });
        }
        page.read(&self.collection, filter).await
    }

    /// Creates the indexes the catalogue's pages read through (idempotent): unreserved tickets
    /// newest first, and by title word, so a page costs the same however many tickets there
    /// are.
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let catalogue = index("catalogue", doc! { "orderId": 1, "_id": -1 });
        let search = index("search", doc! { "words": 1, "_id": -1 });
        self.collection.create_index(catalogue).await?;
        self.collection.create_index(search).await?;
        self.outbox.ensure_indexes().await
    }

    /// Stores a new ticket at version 0 with `ticket:created` recorded in it, in one write.
    pub async fn create(
        &self,
        title: String,
        price: f64,
        user_id: String,
    ) -> mongodb::error::Result<TicketDocument> {
        let ticket = TicketDocument::new(title, price, user_id);
        let record = self.outbox.record(&ticket.created_event())?;
        self.collection
            .clone_with_type::<Document>()
            .insert_one(document_keeping(&ticket, &record)?)
            .await?;
        self.outbox.written(COLLECTION, ticket.id, vec![record]);
        Ok(ticket)
    }

    /// Saves `ticket` as version + 1 if the stored one is still as it was read, with
    /// `ticket:updated` recorded in it, in one write. Returns the saved ticket.
    pub async fn save(&self, ticket: &TicketDocument) -> Result<TicketDocument, SaveError> {
        self.save_where(ticket, unchanged_since_read(ticket)).await
    }

    /// [`Tickets::save`] if the stored ticket matches `current`.
    async fn save_where(
        &self,
        ticket: &TicketDocument,
        current: mongodb::bson::Document,
    ) -> Result<TicketDocument, SaveError> {
        let saved = TicketDocument {
            version: ticket.version + 1,
            // A ticket stored before its words were kept gets them now.
            words: crate::models::ticket::words_of(&ticket.title),
            ..ticket.clone()
        };
        let record = self.outbox.record(&saved.updated_event())?;
        let mut update = fields_of(&saved)?;
        push_kept(&mut update, &record)?;
        let updated = self.collection.update_one(current, update).await?;
        if updated.matched_count == 0 {
            return Err(SaveError::Stale);
        }
        self.outbox.written(COLLECTION, saved.id, vec![record]);
        Ok(saved)
    }

    /// Stores `ticket`'s bookkeeping without a version bump or an event, if the stored one
    /// matches `current`.
    async fn note_where(
        &self,
        ticket: &TicketDocument,
        current: mongodb::bson::Document,
    ) -> Result<(), SaveError> {
        let updated = self
            .collection
            .update_one(current, fields_of(ticket)?)
            .await?;
        if updated.matched_count == 0 {
            return Err(SaveError::Stale);
        }
        Ok(())
    }

    /// Reads the ticket, lets `decide` change it (or refuse, or keep it), and saves; when
    /// another writer saved first, re-reads and decides again ([`LostRaces`]).
    pub async fn change<E>(
        &self,
        id: ObjectId,
        mut decide: impl FnMut(&mut TicketDocument) -> Result<Decision, E>,
    ) -> Result<Changed, ChangeError<E>> {
        let mut races = LostRaces::default();
        loop {
            let Some(mut ticket) = self.find(id).await? else {
                return Err(ChangeError::NotFound);
            };
            let current = unchanged_since_read(&ticket);
            let written = match decide(&mut ticket).map_err(ChangeError::Refused)? {
                Decision::Keep => return Ok(Changed::Kept(ticket)),
                Decision::Note => self
                    .note_where(&ticket, current)
                    .await
                    .map(|()| Changed::Kept(ticket)),
                Decision::Save => self.save_where(&ticket, current).await.map(Changed::Saved),
            };
            match written {
                Ok(changed) => return Ok(changed),
                Err(SaveError::Stale) => races.lost()?,
                Err(SaveError::Database(error)) => return Err(error.into()),
            }
        }
    }
}

/// The update that writes every field of `ticket` (but its id) and leaves the events it keeps
/// alone: a write replacing the whole document could bring back a record the relay removed
/// since the ticket was read.
fn fields_of(ticket: &TicketDocument) -> mongodb::error::Result<Document> {
    let mut fields = mongodb::bson::to_document(ticket)?;
    fields.remove("_id");
    let mut update = doc! { "$set": fields };
    if ticket.order_id.is_none() {
        update.insert("$unset", doc! { "orderId": "" });
    }
    Ok(update)
}

/// Matches the stored ticket only if nothing was written to it since `read` was read: the same
/// version, and the same count of noted cancellations (which are written without a version
/// bump).
fn unchanged_since_read(read: &TicketDocument) -> mongodb::bson::Document {
    let noted = read.cancellations_noted;
    let cancellations = if noted == 0 {
        // Also a document written before the count was kept.
        doc! { "$or": [
            { "cancellationsNoted": { "$exists": false } },
            { "cancellationsNoted": 0_i64 },
        ] }
    } else {
        doc! { "cancellationsNoted": noted }
    };
    let mut filter = doc! { "_id": read.id, "version": read.version };
    filter.extend(cancellations);
    filter
}
