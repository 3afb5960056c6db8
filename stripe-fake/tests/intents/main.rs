//! Payment intents as the payments service and the shop's page meet them: through the real
//! `async-stripe` client, signed webhooks checked by `async-stripe-webhook`, the 3-D Secure
//! page and the browser's publishable-key calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod helpers;
mod webhooks;
