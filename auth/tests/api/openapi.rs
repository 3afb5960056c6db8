//! The service's OpenAPI document: generated from its handlers, checked in, and served.

use auth::routes::{DOCUMENTED, openapi};
use common::testing::openapi::assert_published;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_document_is_the_generated_one_checked_in_and_served() {
    let app = spawn_app().await;
    let paths = [
        "/api/users/signup",
        "/api/users/signin",
        "/api/users/signout",
        "/api/users/{id}/ban",
        "/api/users/currentuser",
    ];
    assert_published(
        &*app,
        env!("CARGO_MANIFEST_DIR"),
        DOCUMENTED,
        &openapi(),
        &paths,
    )
    .await;
}
