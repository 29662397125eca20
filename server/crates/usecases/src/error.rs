//! The one error of the use cases. Its messages may be shown to the admin;
//! database internals go to the log only.

use store::{StoreError, Unique};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No admin session, or it expired or was ended.
    #[error("sign in required: your console session has ended")]
    Unauthenticated,
    /// Same message for an unknown email and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The input was wrong; the message says how, in words for the admin.
    #[error("{0}")]
    BadInput(String),
    /// A document (OpenAPI, say) is not what it must be; the JSON pointer
    /// names where.
    #[error("{message} (at `{pointer}`)")]
    InvalidDocument { pointer: String, message: String },
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what exists (a duplicate name, say).
    #[error("{0}")]
    Conflict(String),
    /// The change is not allowed (a system role, say).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed sign-ins: try again after this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    TooManyAttempts(u64),
    /// The database could not be reached; nothing was changed.
    #[error("the database is unavailable, nothing was changed; try again")]
    Unavailable,
    /// Something failed on the server; the details are in the server log.
    #[error("internal error, see the server log")]
    Internal,
}

impl From<StoreError> for Error {
    /// Logs what the client may not see and tells only its kind.
    fn from(error: StoreError) -> Error {
        if error.is_unavailable() {
            tracing::warn!(%error, "database unavailable");
            return Error::Unavailable;
        }
        match error {
            StoreError::Duplicate(unique) => Error::Conflict(
                match unique {
                    Unique::AdminEmail => "a console admin with that email already exists",
                    Unique::UserEmail => "a user with that email already exists",
                    Unique::RoleName => "a role with that name already exists",
                    Unique::ServiceName => "a service with that name already exists",
                    Unique::ApiKeyName => "an API key with that name already exists",
                    Unique::ApplicationName => "an application with that name already exists",
                    Unique::Other => "that already exists",
                }
                .to_string(),
            ),
            StoreError::BadText => Error::BadInput("text may not hold a NUL character".to_string()),
            error @ (StoreError::Unreadable(_)
            | StoreError::UnknownEvent(_)
            | StoreError::Corrupt(_)) => {
                tracing::error!(%error, "stored data cannot be read");
                Error::Internal
            }
            StoreError::Database(error) => {
                tracing::error!(%error, "database error");
                Error::Internal
            }
        }
    }
}
