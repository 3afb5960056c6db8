//! The web client: server-rendered HTML pages for the whole purchase flow.
//!
//! It replaces the original's Next.js app. Every page is rendered on the server from askama
//! templates checked at compile time, with the data fetched the way the original's
//! `buildClient` did: through the ingress at `API_BASE_URL`, carrying the browser's `Cookie` and
//! `Host` ([`api`]). Forms post back to the client, which calls the API and redirects
//! (post/redirect/get), relaying the API's `Set-Cookie` so the session reaches the browser:
//! everything works without JavaScript. A small script adds the ticking countdown and the price
//! field's formatting. Paying is the one exception: when `STRIPE_PUBLISHABLE_KEY` is set the
//! order page pays with Stripe's Payment Element, loading Stripe.js from `STRIPE_JS_URL` and a
//! script of ours (`static/payment.js`) that creates the order's PaymentIntent and waits for the
//! order to complete; without it the order page pays with Stripe's test card, and no page loads
//! anything from another site.
//!
//! Pages: `/` (tickets), `/auth/signup`, `/auth/signin`, `/auth/signout`, `/tickets/new`,
//! `/tickets/:ticketId` (and its Purchase), `/orders/:orderId` (and its payment), `/orders`.
//! Unknown addresses get an HTML 404 page; an unreachable API a friendly 500 page.
//!
//! Layout: [`config`] (environment), [`startup`] (router and HTTP stack), [`state`] (what the
//! handlers reach), [`routes`] (one file per page), [`page`] (layout, header, redirects, error
//! pages), [`api`] (calling the API), [`models`] (the API's JSON), [`form`] (posted forms),
//! [`csrf`] (refusing forms posted from another site) and [`csrf_token`] (the token it checks),
//! [`price`] (showing and sending prices), [`static_files`] (stylesheet and scripts, with their
//! versioned URLs) and [`assets`] (serving them with their cache headers); `templates/` and
//! `static/` hold the HTML, CSS and JavaScript.

pub mod api;
pub mod assets;
pub mod config;
pub mod csrf;
pub mod csrf_token;
pub mod form;
pub mod models;
pub mod page;
pub mod price;
pub mod routes;
pub mod startup;
pub mod state;
pub mod static_files;

pub use config::Config;
pub use startup::{app, build};

/// The service's program, as its binary runs it: see [`common::server::run_service`].
pub fn main() -> anyhow::Result<()> {
    common::server::run_service(Config::from_env, build)
}
