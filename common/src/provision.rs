//! Users for servers that require credentials, as a local stack or a test sets them up: the
//! MongoDB users (one per service, with rights on its own database only) and, through
//! [`crate::bus::access`], the NATS users. In Kubernetes the same is done by the images' init
//! and the manifests' Secrets.

use anyhow::Context as _;
use mongodb::Client;
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, Credential};

use crate::config::Secret;
use crate::mongo::{UNAUTHORIZED, command_code};

/// A MongoDB user, defined in (and authenticating against) `database`.
#[derive(Debug, Clone)]
pub struct MongoUser {
    /// Its database: an administrator's is `admin`.
    pub database: String,
    /// Its name.
    pub user: String,
    /// Its password.
    pub password: Secret,
}

const USER_EXISTS: i32 = 51003;

/// Makes `admin` (a user of database `admin`) the administrator of the server at `uri` (no
/// credentials in it), then each of `users` with `readWrite` on its own database and nothing
/// else. Repeatable: existing users get their passwords set again.
///
/// A server with no user yet takes the first one over a loopback connection (the localhost
/// exception of `--auth`); after that only the administrator can add users.
pub async fn mongo_users(uri: &str, admin: &MongoUser, users: &[MongoUser]) -> anyhow::Result<()> {
    let anonymous = client(uri, None).await?;
    let created = anonymous
        .database(&admin.database)
        .run_command(doc! {
            "createUser": &admin.user,
            "pwd": admin.password.expose(),
            "roles": [{ "role": "root", "db": "admin" }],
        })
        .await;
    match created {
        Ok(_) => {}
        // Users exist already: the administrator signs in below, or the password is wrong.
        Err(error) if command_code(&error) == Some(UNAUTHORIZED) => {}
        Err(error) => return Err(error).context("creating the MongoDB administrator"),
    }
    let administrator = client(uri, Some(admin)).await?;
    for user in users {
        let database = administrator.database(&user.database);
        let roles = vec![doc! { "role": "readWrite", "db": &user.database }];
        let created = database
            .run_command(doc! {
                "createUser": &user.user,
                "pwd": user.password.expose(),
                "roles": roles.clone(),
            })
            .await;
        match created {
            Ok(_) => {}
            Err(error) if command_code(&error) == Some(USER_EXISTS) => {
                database
                    .run_command(doc! {
                        "updateUser": &user.user,
                        "pwd": user.password.expose(),
                        "roles": roles,
                    })
                    .await
                    .with_context(|| format!("updating MongoDB user {}", user.user))?;
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!(
                        "creating MongoDB user {} (is the administrator's password the one \
                         the server was set up with?)",
                        user.user
                    )
                });
            }
        }
    }
    Ok(())
}

/// A client of the server at `uri`, signed in as `user` if given.
pub async fn client(uri: &str, user: Option<&MongoUser>) -> anyhow::Result<Client> {
    let mut options = ClientOptions::parse(uri)
        .await
        .with_context(|| format!("{uri} is not a MongoDB URI"))?;
    if let Some(user) = user {
        options.credential = Some(
            Credential::builder()
                .username(user.user.clone())
                .password(user.password.expose().to_owned())
                .source(user.database.clone())
                .build(),
        );
    }
    Client::with_options(options).context("creating a MongoDB client")
}
