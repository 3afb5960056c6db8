//! A service's MongoDB user against a real server with `--auth`: its own database only, and a
//! wrong password is a clear failure at start, not a hang.

use std::time::Duration;

use common::testing::secured::{self, uri_as};
use mongodb::bson::{Document, doc, oid::ObjectId};

fn database_name() -> String {
    format!("test_{}", ObjectId::new().to_hex())
}

#[tokio::test]
async fn a_service_user_reaches_its_own_database_and_no_other() {
    let mongo = secured::secured_mongo();
    let own = database_name();
    let (_, uri) = mongo.user_for(&own).await;
    let database = common::mongo::connect(&uri, "unused").await.unwrap();
    database
        .collection::<Document>("things")
        .insert_one(doc! { "a": 1 })
        .await
        .expect("its own database is writable");

    // Another service's database, through the same connection: refused.
    let other = database_name();
    let (_, _) = mongo.user_for(&other).await;
    let stolen = database
        .client()
        .database(&other)
        .collection::<Document>("things")
        .find_one(doc! {})
        .await;
    assert!(stolen.is_err(), "read another database: {stolen:?}");

    // Nobody signed in: refused.
    let anonymous = mongodb::Client::with_uri_str(&mongo.uri).await.unwrap();
    let read = anonymous
        .database(&own)
        .collection::<Document>("things")
        .find_one(doc! {})
        .await;
    assert!(read.is_err(), "read without signing in: {read:?}");
}

#[tokio::test]
async fn a_wrong_password_fails_the_start_with_one_clear_line() {
    let mongo = secured::secured_mongo();
    let (mut user, _) = mongo.user_for(&database_name()).await;
    user.password = common::config::Secret::new("not-the-password");
    let uri = uri_as(&mongo.uri, &user);
    let connecting = common::mongo::connect(&uri, "unused");
    let error = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .expect("a refused password fails the start, it does not hang")
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("MongoDB refused the credentials in MONGO_URI"),
        "{error:#}"
    );
}
