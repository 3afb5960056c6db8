//! `provision`: the users of a local stack's servers, set up by `cargo xtask up` (which stays
//! free of database and bus drivers, and so runs this instead). It reads JSON on standard input,
//! so no password is ever on a command line:
//!
//! - `provision mongo-users`: `{"uri", "admin": {"user", "password"}, "users": [{"database",
//!   "user", "password"}]}` makes the administrator (on a server with no user yet) and each
//!   service's user with rights on its own database only;
//! - `provision nats-authorization`: `{"passwords": {"tickets": "...", ..., "operator": "..."}}`
//!   prints nats-server's `authorization` block for those users.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use common::bus::Namespace;
use common::bus::access::{self, Password};
use common::config::Secret;
use common::provision::MongoUser;
use serde::Deserialize;

#[derive(Deserialize)]
struct MongoUsers {
    uri: String,
    admin: User,
    users: Vec<DatabaseUser>,
}

#[derive(Deserialize)]
struct User {
    user: String,
    password: String,
}

#[derive(Deserialize)]
struct DatabaseUser {
    database: String,
    user: String,
    password: String,
}

#[derive(Deserialize)]
struct NatsUsers {
    passwords: BTreeMap<String, String>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("provision: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading standard input")?;
    match command.as_str() {
        "mongo-users" => mongo_users(serde_json::from_str(&input).context("reading the users")?),
        "nats-authorization" => {
            let users: NatsUsers = serde_json::from_str(&input).context("reading the users")?;
            let block = nats_authorization(&users)?;
            #[allow(clippy::print_stdout)]
            {
                print!("{block}");
            }
            Ok(())
        }
        other => bail!("unknown command {other:?}: mongo-users or nats-authorization"),
    }
}

fn mongo_users(request: MongoUsers) -> anyhow::Result<()> {
    let admin = MongoUser {
        database: "admin".to_owned(),
        user: request.admin.user,
        password: Secret::new(request.admin.password),
    };
    let users: Vec<MongoUser> = request
        .users
        .into_iter()
        .map(|user| MongoUser {
            database: user.database,
            user: user.user,
            password: Secret::new(user.password),
        })
        .collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?
        .block_on(common::provision::mongo_users(&request.uri, &admin, &users))
}

fn nats_authorization(users: &NatsUsers) -> anyhow::Result<String> {
    let names = access::SERVICES
        .iter()
        .map(|user| user.name)
        .chain([access::OPERATOR]);
    for name in names {
        if !users.passwords.contains_key(name) {
            bail!("no password for NATS user {name}");
        }
    }
    Ok(access::server_authorization(&Namespace::none(), |user| {
        Password::Literal(users.passwords.get(user).cloned().unwrap_or_default())
    }))
}
