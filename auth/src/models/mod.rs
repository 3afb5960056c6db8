//! What the auth service stores.

pub mod user;
