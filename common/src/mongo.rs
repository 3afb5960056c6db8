//! MongoDB: connecting, object ids from requests, and the driver errors we act on.

use std::time::Duration;

use anyhow::Context;
use mongodb::bson::oid::ObjectId;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

use crate::error::ApiError;

/// How long an operation waits for a reachable server before it fails (and the request is 500),
/// instead of the driver's 30 s default.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `uri` and returns its database (the path of the URI, else `default_name`).
///
/// Connecting is lazy: this succeeds while the server is down; `/readyz` tells when it is up.
pub async fn connect(uri: &str, default_name: &str) -> anyhow::Result<Database> {
    let mut options = ClientOptions::parse(uri)
        .await
        .context("MONGO_URI is not a valid MongoDB URI")?;
    options
        .server_selection_timeout
        .get_or_insert(SERVER_SELECTION_TIMEOUT);
    options
        .connect_timeout
        .get_or_insert(SERVER_SELECTION_TIMEOUT);
    let name = options
        .default_database
        .clone()
        .unwrap_or_else(|| default_name.to_owned());
    let client = Client::with_options(options).context("creating the MongoDB client")?;
    Ok(client.database(&name))
}

/// Whether the database answers.
pub async fn ping(database: &Database) -> anyhow::Result<()> {
    database
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await?;
    Ok(())
}

/// An id from a path or body. A malformed one is 400 `"Something went wrong"`, as the original's
/// CastError was.
pub fn parse_object_id(text: &str) -> Result<ObjectId, ApiError> {
    ObjectId::parse_str(text).map_err(|_| ApiError::malformed())
}

/// Whether `error` is a unique-index violation (code 11000).
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    const DUPLICATE_KEY: i32 = 11000;
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write_error)) => {
            write_error.code == DUPLICATE_KEY
        }
        ErrorKind::InsertMany(failure) => failure
            .write_errors
            .as_ref()
            .is_some_and(|errors| errors.iter().any(|error| error.code == DUPLICATE_KEY)),
        ErrorKind::Command(command_error) => command_error.code == DUPLICATE_KEY,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_are_bad_requests() {
        assert!(parse_object_id("5f1c9a7e2d4b3a0012345678").is_ok());
        for bad in [
            "abc",
            "",
            "5f1c9a7e2d4b3a001234567z",
            "5f1c9a7e2d4b3a00123456789",
        ] {
            assert!(
                matches!(parse_object_id(bad), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
