//! What the payments service stores: its replica of orders, the payments, and the charge
//! attempts that precede them.

pub mod attempt;
pub mod attempts;
pub mod order;
pub mod orders;
pub mod payment;
pub mod payments;

pub use attempt::{AttemptState, ChargeAttempt, charge_key, refund_key};
pub use order::{OrderDocument, PaymentClaim};
pub use orders::{Cancellation, Orders};
pub use payment::PaymentDocument;
pub use payments::{Claim, Payments};
