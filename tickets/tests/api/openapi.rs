//! The service's OpenAPI document: generated from its handlers, checked in, and served.

use common::testing::openapi::{assert_checked_in, assert_served};
use tickets::routes::{DOCUMENTED, openapi};

use crate::helpers::spawn_app;

#[test]
fn the_checked_in_document_is_the_one_the_code_generates() {
    assert_checked_in(env!("CARGO_MANIFEST_DIR"), DOCUMENTED, &openapi());
}

#[tokio::test]
async fn the_service_serves_its_document_beside_its_routes() {
    let app = spawn_app().await;
    assert_served(
        &*app,
        DOCUMENTED,
        &openapi(),
        &["/api/tickets", "/api/tickets/{id}"],
    )
    .await;
}
