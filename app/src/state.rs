//! What every server function and handler needs from the running server.

use std::time::Duration;

use leptos::prelude::use_context;

use crate::db::{Engine, Pool};
use crate::error::AppError;

#[derive(Clone)]
pub struct ConsoleState {
    pub pool: Pool,
    pub engine: Engine,
    /// Inactivity after which a session (console or application) ends.
    pub session_timeout: Duration,
}

impl ConsoleState {
    /// The state the server put into the Leptos context.
    pub fn from_context() -> Result<ConsoleState, AppError> {
        use_context::<ConsoleState>().ok_or_else(|| {
            tracing::error!("console state missing from the server function context");
            AppError::Internal
        })
    }
}
