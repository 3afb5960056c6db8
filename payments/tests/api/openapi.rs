//! The service's OpenAPI document: generated from its handlers, checked in, and served.

use common::testing::openapi::assert_published;
use payments::routes::{DOCUMENTED, openapi};

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_document_is_the_generated_one_checked_in_and_served() {
    let app = spawn_app().await;
    let paths = [
        "/api/payments",
        "/api/payments/intents",
        "/api/payments/webhook",
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
