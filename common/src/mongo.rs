//! MongoDB: connecting, object ids from requests, and the driver errors we act on.

use std::time::Duration;

use anyhow::Context;
use mongodb::bson::Document;
use mongodb::bson::oid::ObjectId;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Database, IndexModel};

use crate::error::ApiError;

/// How long an operation waits for a reachable server before it fails (and the request is 500),
/// instead of the driver's 30 s default.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the start waits to learn whether the server takes the URI's credentials.
const CREDENTIALS_CHECK: Duration = Duration::from_secs(3);

/// Connects to `uri` and returns its database (the path of the URI, else `default_name`).
///
/// Connecting is lazy: this succeeds while the server is down; `/readyz` tells when it is up.
/// But a server that answers and refuses the URI's credentials fails the start at once, with
/// one line saying so: waiting for it would never end.
pub async fn connect(uri: &str, default_name: &str) -> anyhow::Result<Database> {
    connect_with(uri, default_name, Commands::Uncounted).await
}

/// Whether a client counts the commands it sends ([`count_command`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commands {
    /// The default: the driver hands no command to anyone.
    Uncounted,
    /// Counted and timed by name (`MONGO_COMMAND_METRICS=true`). It costs: with a handler set,
    /// the driver copies every command and parses every reply into a document for it, so a
    /// page of 100 tickets is parsed twice. The bench turns it on to count the database work
    /// of a purchase.
    Counted,
}

/// [`connect`], counting the commands or not.
pub async fn connect_with(
    uri: &str,
    default_name: &str,
    commands: Commands,
) -> anyhow::Result<Database> {
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
    let has_credentials = options.credential.is_some();
    if commands == Commands::Counted {
        options.command_event_handler = Some(EventHandler::callback(count_command));
    }
    let client = Client::with_options(options).context("creating the MongoDB client")?;
    let database = client.database(&name);
    if has_credentials {
        refuse_rejected_credentials(&database).await?;
    }
    Ok(database)
}

/// Counts and times each command the driver sent, by its name and whether it succeeded
/// (`mongodb_commands_total`, `mongodb_command_duration_seconds`): the database work each
/// change costs, which the bench reports per purchase.
fn count_command(event: CommandEvent) {
    let (name, outcome, duration) = match event {
        CommandEvent::Succeeded(event) => (event.command_name, "succeeded", event.duration),
        CommandEvent::Failed(event) => (event.command_name, "failed", event.duration),
        _ => return,
    };
    metrics::histogram!("mongodb_command_duration_seconds", "command" => name.clone())
        .record(duration.as_secs_f64());
    metrics::counter!("mongodb_commands_total", "command" => name, "outcome" => outcome)
        .increment(1);
}

/// Fails when the server answers that the credentials are wrong; a server that does not answer
/// within [`CREDENTIALS_CHECK`] is left for `/readyz` to report.
async fn refuse_rejected_credentials(database: &Database) -> anyhow::Result<()> {
    // Spawned and awaited with a timeout, never dropped half-way: the driver's futures must
    // run to their end.
    let check = tokio::spawn({
        let database = database.clone();
        async move { ping(&database).await }
    });
    match tokio::time::timeout(CREDENTIALS_CHECK, check).await {
        Ok(Ok(Err(error))) if is_authentication_failure(&error) => Err(anyhow::anyhow!(
            "MongoDB refused the credentials in MONGO_URI (user or password wrong, or the \
             user has no access to database {:?}): {error}",
            database.name()
        )),
        _ => Ok(()),
    }
}

/// The server's "not authorized" command error code.
pub const UNAUTHORIZED: i32 = 13;

fn is_authentication_failure(error: &anyhow::Error) -> bool {
    const AUTHENTICATION_FAILED: i32 = 18;
    error
        .downcast_ref::<mongodb::error::Error>()
        .is_some_and(|error| {
            matches!(error.kind.as_ref(), ErrorKind::Authentication { .. })
                || matches!(
                    command_code(error),
                    Some(UNAUTHORIZED | AUTHENTICATION_FAILED)
                )
        })
}

/// The code of a command error (a server's refusal), if `error` is one.
pub fn command_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// Whether the database answers.
pub async fn ping(database: &Database) -> anyhow::Result<()> {
    database
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await?;
    Ok(())
}

/// An id from a path or body, read the way mongoose casts one: 24 hex digits, or any string of
/// exactly 12 bytes (which are the id's bytes). Anything else is 400 `"Something went wrong"`,
/// as the original's CastError was; a 12-byte string names an id nothing has, so it is a 404
/// wherever the original's was.
pub fn parse_object_id(text: &str) -> Result<ObjectId, ApiError> {
    if let Ok(id) = ObjectId::parse_str(text) {
        return Ok(id);
    }
    <[u8; 12]>::try_from(text.as_bytes())
        .map(ObjectId::from_bytes)
        .map_err(|_| ApiError::malformed())
}

/// mongoose's `ObjectId.isValid` for a string: 24 hex digits, or any 12 characters (counted as
/// JavaScript counts them). Twelve characters that are not twelve bytes pass here and fail
/// [`parse_object_id`], as they did in the original.
pub fn is_valid_object_id(text: &str) -> bool {
    ObjectId::parse_str(text).is_ok() || text.encode_utf16().count() == 12
}

/// The index `name` on `keys`, for `create_index` at start-up (idempotent: the server finds it
/// there on every later start).
pub fn index(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder().name(name.to_owned()).build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// [`index`], refusing a second document with the same keys ([`is_duplicate_key`]).
pub fn unique_index(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(true)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
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
    fn ids_are_read_as_mongoose_casts_them() {
        assert_eq!(
            parse_object_id("5F1C9A7E2D4B3A0012345678")
                .unwrap()
                .to_hex(),
            "5f1c9a7e2d4b3a0012345678"
        );
        assert_eq!(
            &parse_object_id("twelve chars").unwrap().bytes(),
            b"twelve chars"
        );
        assert!(is_valid_object_id("5f1c9a7e2d4b3a0012345678"));
        assert!(is_valid_object_id("twelve chars"));
        assert!(is_valid_object_id("ñññññññññññ1"));
        for bad in ["", "abc", "5f1c9a7e2d4b3a001234567z", "thirteen char"] {
            assert!(!is_valid_object_id(bad), "{bad}");
        }
    }

    #[test]
    fn malformed_ids_are_bad_requests() {
        assert!(parse_object_id("5f1c9a7e2d4b3a0012345678").is_ok());
        for bad in [
            "abc",
            "",
            "5f1c9a7e2d4b3a001234567z",
            "5f1c9a7e2d4b3a00123456789",
            // Twelve characters, but not twelve bytes.
            "ñññññññññññ1",
            "eleven char",
        ] {
            assert!(
                matches!(parse_object_id(bad), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
