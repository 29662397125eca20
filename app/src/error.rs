//! The one error type every server function returns. It crosses the wire, so
//! it carries only what the browser may know: never a database message.

use http::StatusCode;
use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No admin session, or it expired or was ended.
    #[error("sign in required: your console session has ended")]
    Unauthenticated,
    /// Same message for an unknown email and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A browser request whose `Origin` is not this console.
    #[error("cross-origin request refused")]
    CrossOrigin,
    /// The input was wrong; the message says how, in words for the admin.
    #[error("{0}")]
    BadInput(String),
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
    /// The request never reached the function, or its answer was unreadable.
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // arguments a call sent that the function cannot read: the
            // caller's input, answered 400 like any other
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::BadInput(value.to_string())
            }
            _ => AppError::Transport(value.to_string()),
        }
    }
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::CrossOrigin | AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadInput(_) => StatusCode::BAD_REQUEST,
            AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<usecases::Error> for AppError {
    fn from(error: usecases::Error) -> Self {
        use usecases::Error;
        match error.clone() {
            Error::Unauthenticated => AppError::Unauthenticated,
            Error::InvalidCredentials => AppError::InvalidCredentials,
            Error::BadInput(message) => AppError::BadInput(message),
            Error::InvalidDocument { .. } => AppError::BadInput(error.to_string()),
            Error::NotFound(message) => AppError::NotFound(message),
            Error::Conflict(message) => AppError::Conflict(message),
            Error::Forbidden(message) => AppError::Forbidden(message),
            Error::Unavailable => AppError::Unavailable,
            Error::TooManyAttempts(secs) => AppError::TooManyAttempts(secs),
            Error::Internal => AppError::Internal,
        }
    }
}
