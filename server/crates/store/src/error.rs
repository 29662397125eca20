//! The one error of the storage layer. Unique-key violations become
//! [`StoreError::Duplicate`] by constraint name, so the layers above answer
//! "already exists" without reading database messages.

use policy::cells::UnreadableEffect;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key would be taken twice.
    #[error("duplicate {0:?}")]
    Duplicate(Unique),
    /// Text the database cannot hold (a NUL character, on PostgreSQL).
    #[error("text that cannot be stored")]
    BadText,
    /// Stored data that no rule can read; refused rather than guessed.
    #[error(transparent)]
    Unreadable(#[from] UnreadableEffect),
    /// A runtime event of a kind this server does not know (written by a
    /// newer server): it cannot follow what it cannot read.
    #[error("a runtime event of the unknown kind `{0}`")]
    UnknownEvent(String),
    /// Stored rows the database handed back in a shape that cannot be
    /// read (an aggregate that is not the JSON it should be).
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

/// The unique keys a person can collide with, by their constraint names
/// (PostgreSQL reports the name; SQLite reports `table.column`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    AdminEmail,
    UserEmail,
    RoleName,
    ServiceName,
    ApiKeyName,
    ApplicationName,
    /// A key no person chooses (a primary key, say).
    Other,
}

const CONSTRAINTS: [(&str, &str, Unique); 6] = [
    (
        "console_admin_email_key",
        "console_admin.email",
        Unique::AdminEmail,
    ),
    (
        "app_user_email_key",
        "app_user.application_id, app_user.email",
        Unique::UserEmail,
    ),
    (
        "role_name_key",
        "role.application_id, role.name_key",
        Unique::RoleName,
    ),
    (
        "service_name_key",
        "service.application_id, service.name",
        Unique::ServiceName,
    ),
    (
        "api_key_name_key",
        "api_key.application_id, api_key.name",
        Unique::ApiKeyName,
    ),
    (
        "application_name_key",
        "application.name",
        Unique::ApplicationName,
    ),
];

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        let sqlx::Error::Database(database) = &error else {
            return StoreError::Database(error);
        };
        // PostgreSQL: 22021 character not in repertoire (a NUL byte),
        // 22P05 untranslatable character
        if matches!(database.code().as_deref(), Some("22021" | "22P05")) {
            return StoreError::BadText;
        }
        if !database.is_unique_violation() {
            return StoreError::Database(error);
        }
        let message = database.message();
        let constraint = database.constraint();
        let unique = CONSTRAINTS
            .iter()
            .find(|(name, column, _)| {
                constraint == Some(*name)
                    || message
                        .strip_prefix("UNIQUE constraint failed: ")
                        .is_some_and(|columns| columns == *column)
            })
            .map_or(Unique::Other, |(_, _, unique)| *unique);
        StoreError::Duplicate(unique)
    }
}

impl StoreError {
    /// True when the database could not be reached (nothing was changed).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }
}
