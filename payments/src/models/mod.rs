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
