//! The auth service's own metrics: `signins_total{outcome}`, one per sign-in attempt that was
//! decided, recorded by `POST /api/users/signin` ([`crate::routes::sign_in`]) as it answers:
//!
//! - `success`: the credentials were right and a session was issued;
//! - `failure`: an unknown email or a wrong password (`"Invalid credentials"`), or a banned
//!   account's right password;
//! - `rate_limited`: a limit of [`crate::limits`] refused the attempt (429) before any hashing.
//!
//! A body that fails its checks (no valid email, no password) was never an attempt at
//! anyone's account, and a request that ends in a server fault or whose client hung up has no
//! outcome: neither is counted. The process's recorder and the HTTP, MongoDB and bus families
//! are `common`'s ([`common::metrics`]).

/// How a sign-in attempt ended: the `outcome` label of `signins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in.
    Success,
    /// Invalid credentials, or a banned account.
    Failure,
    /// Refused by a rate limit.
    RateLimited,
}

impl SignIn {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignIn::Success => "success",
            SignIn::Failure => "failure",
            SignIn::RateLimited => "rate_limited",
        }
    }

    /// Counts one attempt that ended so.
    pub fn record(self) {
        ::metrics::counter!("signins_total", "outcome" => self.as_str()).increment(1);
    }
}
