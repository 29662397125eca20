//! The use cases: one function per thing an admin, a script or a client
//! can do, called alike by the console's server functions and by the HTTP
//! APIs, so there is one way to change anything. Every write goes through
//! [`change::Change`]: begin, audit, count, commit, apply to the runtime.

pub mod admins;
pub mod apps;
pub mod audit;
pub mod callers;
pub mod change;
pub mod effective;
pub mod error;
pub mod impersonation;
pub mod login;
pub mod maintenance;
pub mod openapi;
pub mod permissions;
pub mod roles;
pub mod seed;
pub mod services;
pub mod suites;
pub mod throttle;
pub mod upstreams;
pub mod users;
pub mod web;
pub mod yaml;

use std::sync::Arc;
use std::time::Duration;

pub use change::Actor;
pub use error::Error;
use runtime::Runtime;
use store::{Engine, Pool, StoreError};

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
    /// The origins (`scheme://host[:port]`) browsers reach the console at:
    /// console requests naming another `Host` or `Origin` are refused, so a
    /// DNS-rebinding page cannot talk to a console on a private address.
    /// Shared: the settings go with every copy of the console, one per
    /// request.
    pub public_origins: Arc<[String]>,
    /// Largest request body forwarded to an HTTP upstream.
    pub upstream_max_body_bytes: u64,
    /// Largest answer taken from an HTTP upstream.
    pub upstream_max_response_bytes: u64,
    /// How long a session issued to invoke as a user lasts; `None`: off.
    pub impersonation: Option<Duration>,
}

/// The default of `IMPERSONATION_MINUTES`.
pub const IMPERSONATION_MINUTES: u64 = 15;

/// The default of both upstream size limits: 64 MiB.
pub const UPSTREAM_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_timeout: Duration::from_secs(3600),
            max_failed_logins: 5,
            lockout: Duration::from_secs(900),
            registration: false,
            upstream_max_body_bytes: UPSTREAM_LIMIT_BYTES,
            upstream_max_response_bytes: UPSTREAM_LIMIT_BYTES,
            impersonation: Some(Duration::from_secs(IMPERSONATION_MINUTES * 60)),
            public_origins: ["127.0.0.1:3000", "localhost:3000"]
                .iter()
                .flat_map(|authority| {
                    [
                        format!("http://{authority}"),
                        format!("https://{authority}"),
                    ]
                })
                .collect(),
        }
    }
}

/// One application's settings as they apply: its own where it has them,
/// the server's configuration otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSettings {
    pub session_timeout: Duration,
    pub max_failed_logins: i64,
    pub lockout: Duration,
    pub registration: bool,
}

/// What every use case works on: the database, the runtime, the settings,
/// and the application it addresses.
#[derive(Clone)]
pub struct Console {
    pub pool: Pool,
    pub engine: Engine,
    pub settings: Settings,
    pub runtime: Arc<Runtime>,
    /// Console sign-in attempts, per account and client address.
    pub sign_in_throttle: Arc<throttle::SignInThrottle>,
    /// The application (its id as stored) that application-level use cases
    /// (users, roles, services, permissions, audit, logins) work on: the
    /// default one, unless [`Console::in_app`] chose another.
    pub app: Arc<str>,
}

impl Console {
    /// Wraps an open pool and loads the first snapshots.
    pub async fn open(
        pool: Pool,
        engine: Engine,
        settings: Settings,
    ) -> Result<Console, StoreError> {
        let runtime = Runtime::open(pool.clone()).await?;
        let app = store::apps::default_application(&pool).await?;
        Ok(Console {
            pool,
            engine,
            settings,
            runtime,
            sign_in_throttle: Arc::default(),
            app: app.application_id.into(),
        })
    }

    /// This console addressing the application `id` (compared without
    /// case, as UUIDs are). Unknown: [`Error::NotFound`].
    pub fn in_app(&self, id: &str) -> Result<Console, Error> {
        let snapshot = self
            .runtime
            .snapshot(id)
            .ok_or_else(|| Error::NotFound(format!("no application `{id}`")))?;
        Ok(Console {
            app: snapshot.application_id.as_str().into(),
            ..self.clone()
        })
    }

    /// The snapshot of the application this console addresses.
    pub fn app_snapshot(&self) -> Result<Arc<runtime::snapshot::Snapshot>, Error> {
        self.runtime
            .snapshot(&self.app)
            .ok_or_else(|| Error::NotFound(format!("no application `{}`", self.app)))
    }

    /// The settings of the application this console addresses.
    pub fn app_settings(&self) -> AppSettings {
        let stored = self
            .runtime
            .snapshot(&self.app)
            .map(|snapshot| snapshot.settings)
            .unwrap_or_default();
        self.settings_with(stored)
    }

    /// An application's stored settings as they apply: the configuration
    /// where it has none.
    pub fn settings_with(&self, stored: store::apps::StoredSettings) -> AppSettings {
        let secs = |value: Option<i64>, default: Duration| {
            value
                .and_then(|secs| u64::try_from(secs).ok())
                .map_or(default, Duration::from_secs)
        };
        AppSettings {
            session_timeout: secs(stored.session_timeout_secs, self.settings.session_timeout),
            max_failed_logins: stored
                .max_failed_logins
                .unwrap_or(self.settings.max_failed_logins)
                .max(1),
            lockout: secs(stored.lockout_secs, self.settings.lockout),
            registration: stored.registration.unwrap_or(self.settings.registration),
        }
    }
}

/// `offset` and `limit` of a page, checked.
pub(crate) fn check_page(offset: i64, limit: i64) -> Result<(), Error> {
    if offset < 0 || !(1..=policy::wire::MAX_PAGE).contains(&limit) {
        return Err(Error::BadInput(format!(
            "offset must be 0 or more and limit between 1 and {}",
            policy::wire::MAX_PAGE
        )));
    }
    Ok(())
}
