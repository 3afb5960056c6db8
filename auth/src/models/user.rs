//! Users: the `users` collection, one document per email.
//!
//! Emails are stored trimmed and lower-cased under a unique index, so `A@B.co` and ` a@b.co`
//! are one account and two racing sign-ups with one email cannot both succeed.

use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

/// A user as stored (the password is its scrypt hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDocument {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub email: String,
    pub password: String,
    /// When an admin banned the user; absent while they are not banned.
    #[serde(rename = "bannedAt", default, skip_serializing_if = "Option::is_none")]
    pub banned_at: Option<mongodb::bson::DateTime>,
}

/// A user as the API shows it: `{"email","id"}`, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Lower-cased.
    pub email: String,
    /// 24 hex digits.
    pub id: String,
}

impl From<&UserDocument> for User {
    fn from(document: &UserDocument) -> Self {
        User {
            email: document.email.clone(),
            id: document.id.to_hex(),
        }
    }
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another user has this email.
    #[error("email in use")]
    EmailInUse,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

/// The form emails are stored and compared in.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The users collection.
#[derive(Clone)]
pub struct Users {
    collection: Collection<UserDocument>,
}

impl Users {
    /// The `users` collection of `database`.
    pub fn new(database: &Database) -> Users {
        Users {
            collection: database.collection("users"),
        }
    }

    /// Creates the unique index on `email` (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique_email = IndexModel::builder()
            .keys(doc! { "email": 1 })
            .options(
                IndexOptions::builder()
                    .unique(true)
                    .name("email_unique".to_owned())
                    .build(),
            )
            .build();
        self.collection.create_index(unique_email).await?;
        Ok(())
    }

    /// The user with this (normalized) email.
    pub async fn find_by_email(&self, email: &str) -> mongodb::error::Result<Option<UserDocument>> {
        self.collection.find_one(doc! { "email": email }).await
    }

    /// Bans (`banned`) the user with `id`, or lifts their ban; `None` if there is no such user.
    pub async fn set_banned(
        &self,
        id: ObjectId,
        banned: bool,
    ) -> mongodb::error::Result<Option<UserDocument>> {
        let update = if banned {
            doc! { "$set": { "bannedAt": mongodb::bson::DateTime::now() } }
        } else {
            doc! { "$unset": { "bannedAt": "" } }
        };
        self.collection
            .find_one_and_update(doc! { "_id": id }, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
    }

    /// Stores a new user; the unique index decides races between equal emails.
    pub async fn create(&self, email: &str, password_hash: &str) -> Result<User, CreateUserError> {
        let document = UserDocument {
            id: ObjectId::new(),
            email: email.to_owned(),
            password: password_hash.to_owned(),
            banned_at: None,
        };
        match self.collection.insert_one(&document).await {
            Ok(_) => Ok(User::from(&document)),
            Err(error) if common::mongo::is_duplicate_key(&error) => {
                Err(CreateUserError::EmailInUse)
            }
            Err(error) => Err(error.into()),
        }
    }
}
