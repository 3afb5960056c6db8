//! The `/api/users` endpoints: the original's four, and banning.

mod ban;
mod current_user;
mod sign_in;
mod sign_out;
mod sign_up;

use axum::Router;
use common::openapi::Documented;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use ban::{ban, unban};
pub use current_user::current_user;
pub use sign_in::sign_in;
pub use sign_out::sign_out;
pub use sign_up::sign_up;

/// What the auth service's OpenAPI document says of it, and where it is served.
pub const DOCUMENTED: Documented = Documented {
    service: "auth",
    version: env!("CARGO_PKG_VERSION"),
    description: "Users and their sessions: sign up, sign in, sign out, who is signed in; \
                  admins ban and unban users.",
    path: "/api/users/docs/openapi.json",
};

/// The auth routes that reach the database, the bus or the hashing pool, each with its
/// description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up::sign_up))
        .routes(routes!(sign_in::sign_in))
        .routes(routes!(sign_out::sign_out))
        .routes(routes!(ban::ban, ban::unban))
}

/// The routes answered from the request alone (see `common::server::app_with_instant`).
fn instant_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(current_user::current_user))
}

/// [`api`], described together with [`instant_api`].
fn described() -> OpenApiRouter<AppState> {
    let mut api = api();
    api.get_openapi_mut().merge(instant_api().into_openapi());
    api
}

/// The auth routes that reach the database, the bus or the hashing pool, and the OpenAPI
/// document of all the routes at [`DOCUMENTED`]'s path.
pub fn router() -> Router<AppState> {
    DOCUMENTED.router(described())
}

/// The routes answered from the request alone (see `common::server::app_with_instant`).
pub fn instant_router() -> Router<AppState> {
    instant_api().split_for_parts().0
}

/// The OpenAPI document the service serves (checked in as `docs/openapi/auth.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    DOCUMENTED.document(described())
}
