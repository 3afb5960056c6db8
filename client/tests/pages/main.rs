//! The client's pages against the real auth, tickets and orders services behind a stand-in
//! ingress: each page signed in and out, forms and their errors, redirects, cookies, the error
//! pages, assets and headers, and the refusal of forms posted from another site.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assets;
mod auth;
mod config;
mod csrf;
mod helpers;
mod landing;
mod orders;
mod payment_element;
mod tickets;
