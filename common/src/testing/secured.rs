//! Servers that require credentials, for the tests that prove the fleet runs with them: a
//! MongoDB-compatible server with `--auth` and a Redis with a password, shared by the tests of
//! a binary and started on first use, and NATS servers that accept only the bus users.
//!
//! The other tests use the open servers of [`super`]: quicker, and what they test does not
//! depend on who connects.

use std::sync::OnceLock;

use mongodb::bson::oid::ObjectId;

use crate::bus::Namespace;
use crate::bus::access::{self, Password};
use crate::config::Secret;
use crate::provision::{self, MongoUser};

use super::{endpoint_with, keeper, missing, sink, start_mongo};

/// The shared `--auth` MongoDB-compatible server: its URI (no credentials, no database) and
/// its administrator.
#[derive(Debug, Clone)]
pub struct SecuredMongo {
    /// `mongodb://127.0.0.1:PORT/?directConnection=true`.
    pub uri: String,
    /// A user with every right, in database `admin`.
    pub admin: MongoUser,
}

impl SecuredMongo {
    /// A new user with `readWrite` on `database` only, and the connection string signing in as
    /// it (as a service's `MONGO_URI` does).
    pub async fn user_for(&self, database: &str) -> (MongoUser, String) {
        let user = MongoUser {
            database: database.to_owned(),
            user: format!("u{}", ObjectId::new().to_hex()),
            password: Secret::new(password()),
        };
        if let Err(error) =
            provision::mongo_users(&self.uri, &self.admin, std::slice::from_ref(&user)).await
        {
            panic!("test harness: creating a MongoDB user: {error:#}");
        }
        let uri = uri_as(&self.uri, &user);
        (user, uri)
    }
}

/// `uri` (no credentials, no database) signing in as `user` to `user`'s database.
pub fn uri_as(uri: &str, user: &MongoUser) -> String {
    let with_database = super::with_database(uri, &user.database);
    let (scheme, rest) = with_database
        .split_once("://")
        .unwrap_or(("mongodb", &with_database));
    let separator = if rest.contains('?') { '&' } else { '?' };
    format!(
        "{scheme}://{}:{}@{rest}{separator}authSource={}",
        user.user,
        user.password.expose(),
        user.database
    )
}

/// The shared MongoDB-compatible server that requires credentials.
pub fn secured_mongo() -> SecuredMongo {
    static MONGO: OnceLock<Result<String, String>> = OnceLock::new();
    static ADMIN_PASSWORD: OnceLock<String> = OnceLock::new();
    let admin_password = ADMIN_PASSWORD.get_or_init(password).clone();
    let admin = MongoUser {
        database: "admin".to_owned(),
        user: "admin".to_owned(),
        password: Secret::new(admin_password),
    };
    let uri = endpoint_with(&MONGO, || {
        let uri = start_mongo("mongo-auth", true)?;
        let (set_up, admin) = (uri.clone(), admin.clone());
        keeper::blocking(
            move || async move { provision::mongo_users(&set_up, &admin, &[]).await },
        )?;
        Ok(uri)
    });
    SecuredMongo { uri, admin }
}

/// The shared Redis that requires a password: `redis://:PASSWORD@127.0.0.1:PORT`.
pub fn secured_redis_url() -> String {
    static REDIS: OnceLock<Result<String, String>> = OnceLock::new();
    endpoint_with(&REDIS, || {
        let program =
            devservers::find_program("redis-server").ok_or_else(|| missing("redis-server"))?;
        let secret = password();
        let kept = secret.clone();
        let port = keeper::start_kept("redis-auth", move |dir| {
            devservers::redis::start_secured(
                &program,
                dir,
                0,
                devservers::Durability::Ephemeral,
                &kept,
                sink("redis-auth"),
            )
        })?;
        Ok(format!("redis://:{secret}@127.0.0.1:{port}"))
    })
}

/// The passwords of a NATS server's users (see [`access`]).
#[derive(Debug, Clone)]
pub struct BusPasswords(Vec<(String, String)>);

impl BusPasswords {
    /// A fresh password for each service's user and the operator.
    pub fn generate() -> BusPasswords {
        let users = access::SERVICES
            .iter()
            .map(|user| user.name)
            .chain([access::OPERATOR]);
        BusPasswords(users.map(|user| (user.to_owned(), password())).collect())
    }

    /// `user`'s password; an unknown user gets one nobody has.
    pub fn of(&self, user: &str) -> String {
        self.0
            .iter()
            .find(|(name, _)| name == user)
            .map_or_else(password, |(_, password)| password.clone())
    }

    /// The server's `authorization` block for `namespace`.
    pub fn authorization(&self, namespace: &Namespace) -> String {
        access::server_authorization(namespace, |user| Password::Literal(self.of(user)))
    }

    /// `NATS_USER` and `NATS_PASSWORD` for `user`.
    pub fn credentials(&self, user: &str) -> crate::bus::Credentials {
        crate::bus::Credentials {
            user: user.to_owned(),
            password: Secret::new(self.of(user)),
        }
    }
}

/// A random password.
pub fn password() -> String {
    match devservers::secrets::random_password() {
        Ok(password) => password,
        Err(error) => panic!("test harness: no random password: {error}"),
    }
}
