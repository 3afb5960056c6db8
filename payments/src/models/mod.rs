//! What the payments service stores: its replica of orders, the payments, and what precedes
//! them: the charge attempts of cards paid by token, and the intents paid in the browser.

pub mod attempt;
pub mod attempts;
pub mod intent;
pub mod intents;
pub mod order;
pub mod orders;
pub mod payment;
pub mod payments;

pub use attempt::{AttemptState, ChargeAttempt, charge_key, refund_key};
pub use intent::{IntentDocument, IntentState, intent_key};
pub use order::{OrderDocument, PaymentClaim};
pub use orders::{Cancellation, Orders};
pub use payment::PaymentDocument;
pub use payments::{Claim, Payments, Settles};

/// Takes the document of `collection` in `state` left alone the longest, if for over
/// `older_than` (its `updatedAt`), and leases it: `updatedAt` becomes now, so that other
/// replicas leave it alone for another `older_than`. What the reconciler settles comes this way.
async fn lease_stale<T>(
    collection: &mongodb::Collection<T>,
    state: mongodb::bson::Bson,
    older_than: std::time::Duration,
) -> mongodb::error::Result<Option<T>>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    use mongodb::bson::{DateTime, doc};

    let now = DateTime::now();
    let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    let cutoff = DateTime::from_millis(now.timestamp_millis().saturating_sub(age));
    collection
        .find_one_and_update(
            doc! { "state": state, "updatedAt": { "$lt": cutoff } },
            doc! { "$set": { "updatedAt": now } },
        )
        .sort(doc! { "updatedAt": 1 })
        .return_document(mongodb::options::ReturnDocument::After)
        .await
}
