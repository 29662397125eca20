//! What every server function and handler needs from the running server.

use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::use_context;

use crate::db::{Engine, Pool};
use crate::error::AppError;
use crate::gateway::Gateway;

/// The runtime's knobs (DESIGN "Configuration names" and the README).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Inactivity after which a session (console or application) ends.
    pub session_timeout: Duration,
    /// Failed logins in a row that lock an application account.
    pub max_failed_logins: i64,
    /// How long a locked account stays locked.
    pub lockout: Duration,
    /// Whether `POST /api/users/register` is open.
    pub registration: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_timeout: Duration::from_secs(3600),
            max_failed_logins: 5,
            lockout: Duration::from_secs(900),
            registration: false,
        }
    }
}

#[derive(Clone)]
pub struct ConsoleState {
    pub pool: Pool,
    pub engine: Engine,
    pub settings: Settings,
    pub gateway: Arc<Gateway>,
}

impl ConsoleState {
    /// Wraps an open pool and loads the first snapshot.
    pub async fn open(
        pool: Pool,
        engine: Engine,
        settings: Settings,
    ) -> Result<ConsoleState, sqlx::Error> {
        let gateway = Arc::new(Gateway::default());
        gateway.reload(&pool).await?;
        Ok(ConsoleState {
            pool,
            engine,
            settings,
            gateway,
        })
    }

    /// The state the server put into the Leptos context.
    pub fn from_context() -> Result<ConsoleState, AppError> {
        use_context::<ConsoleState>().ok_or_else(|| {
            tracing::error!("console state missing from the server function context");
            AppError::Internal
        })
    }
}
