//! The rate limits of payment attempts: per user, and per order of that user. Each attempt
//! with a new card token is a Stripe call, so without them `POST /api/payments` would let a
//! card tester learn, token after token, which stolen cards work (see `docs/security.md`,
//! "Rate limits"). A declined card still says why; these limits are what bound the tries.

use common::ApiError;
use common::rate_limit::KeyedLimiter;
use mongodb::bson::oid::ObjectId;

use crate::config::PaymentLimitSettings;

/// The limiters. Cheap to clone: clones share their buckets.
#[derive(Clone)]
pub struct PaymentLimits {
    per_user: KeyedLimiter<String>,
    per_order: KeyedLimiter<(String, ObjectId)>,
}

impl PaymentLimits {
    /// Empty limiters sized by `settings`.
    pub fn new(settings: &PaymentLimitSettings) -> Self {
        PaymentLimits {
            per_user: KeyedLimiter::new(settings.per_user, settings.max_keys),
            per_order: KeyedLimiter::new(settings.per_order, settings.max_keys),
        }
    }

    /// An attempt by `user_id` to pay for `order_id`: 429 once the user's attempts, or their
    /// attempts on this order, are over their limit. The order is keyed with its user, so
    /// someone who knows an order's id cannot use up its owner's attempts.
    pub fn check_attempt(&self, user_id: &str, order_id: ObjectId) -> Result<(), ApiError> {
        self.per_user.check(&user_id.to_owned())?;
        self.per_order.check(&(user_id.to_owned(), order_id))
    }

    /// Forgets the keys whose buckets have refilled.
    pub fn prune(&self) {
        self.per_user.prune();
        self.per_order.prune();
    }
}
