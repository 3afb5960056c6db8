//! The pages, one file each; forms post back to the page and redirect on
//! success (post/redirect/get), so everything works without JavaScript. Every page runs behind
//! [`csrf::protect`](crate::csrf::protect): a post from another site, or without the token its
//! form carries, never reaches a handler.

mod auth_form;
mod landing;
mod list_orders;
mod new_ticket;
mod pay_order;
mod purchase;
mod show_order;
mod show_ticket;
mod sign_in;
mod sign_out;
mod sign_up;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::assets::serve_asset;
use crate::csrf;
use crate::page::PageError;
use crate::state::AppState;

pub use landing::landing;
pub use list_orders::list_orders;
pub use new_ticket::{create_ticket, new_ticket_form};
pub use pay_order::pay_order;
pub use purchase::purchase_ticket;
pub use show_order::show_order;
pub use show_ticket::show_ticket;
pub use sign_in::{sign_in, sign_in_form};
pub use sign_out::{sign_out, sign_out_form};
pub use sign_up::{sign_up, sign_up_form};

/// Every page and the static assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/auth/signup", get(sign_up_form).post(sign_up))
        .route("/auth/signin", get(sign_in_form).post(sign_in))
        // The original's sign-out page signed out as soon as it was opened; here only its
        // form's post does.
        .route("/auth/signout", get(sign_out_form).post(sign_out))
        .route("/tickets/new", get(new_ticket_form).post(create_ticket))
        .route("/tickets/{ticket_id}", get(show_ticket))
        .route("/tickets/{ticket_id}/purchase", post(purchase_ticket))
        .route("/orders", get(list_orders))
        .route("/orders/{order_id}", get(show_order))
        .route("/orders/{order_id}/pay", post(pay_order))
        // Only requests that reach a page (a method it answers): they get their token, and
        // posts are checked. The assets, added after, never set a cookie: they are cached.
        .route_layer(middleware::from_fn(csrf::protect))
        .route("/static/{name}", get(serve_asset))
}

/// An id from the address, checked before it goes into an API path: 24 hex digits, or 404.
fn object_id(id: &str) -> Result<&str, PageError> {
    if is_object_id(id) {
        Ok(id)
    } else {
        Err(PageError::NotFound)
    }
}

/// Whether `text` is an id as the API writes them: 24 hex digits, safe in a URL as it is.
fn is_object_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_object_ids_reach_the_api() {
        assert!(object_id("6561f0c2a4b3c2d1e0f9a8b7").is_ok());
        for bad in [
            "abc",
            "../users/currentuser",
            "6561f0c2a4b3c2d1e0f9a8bz",
            "",
        ] {
            assert!(object_id(bad).is_err(), "{bad}");
        }
    }
}
