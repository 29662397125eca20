//! Fresh databases for the integration tests: every test gets its own SQLite
//! file or its own PostgreSQL database, so tests never see each other's data.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::{header, HeaderMap, Request, StatusCode};
use serde_json::Value;
use sqlx::{Connection, Executor};
use tower::ServiceExt;
use usecases::{Console, Settings};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "console_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(unique_name());
    format!("sqlite://{}/console.db", dir.display())
}

/// A new, empty database on the PostgreSQL that `make test` starts. The
/// PostgreSQL half of the suite is not optional: without it the test fails.
pub async fn postgres_url() -> String {
    let admin_url = std::env::var("CONSOLE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "CONSOLE_TEST_POSTGRES_URL is not set: run the suite with `make test`, \
             which starts PostgreSQL, or point it at a PostgreSQL admin URL"
        )
    });
    sqlx::any::install_default_drivers();
    let name = unique_name();
    let mut conn = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot reach the test PostgreSQL: {error}"));
    conn.execute(format!("create database {name}").as_str())
        .await
        .unwrap_or_else(|error| panic!("cannot create a test database: {error}"));
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or(admin_url);
    format!("{base}/{name}")
}

pub async fn url_for(engine: &str) -> String {
    match engine {
        "sqlite" => sqlite_url(),
        "postgres" => postgres_url().await,
        other => panic!("unknown engine {other}"),
    }
}

pub async fn state_for(engine: &str, session_timeout: Duration) -> Console {
    state_with(
        engine,
        Settings {
            session_timeout,
            ..Settings::default()
        },
    )
    .await
}

/// A fresh database with the demo services registered.
pub async fn state_with(engine: &str, settings: Settings) -> Console {
    let url = url_for(engine).await;
    let (pool, engine) = store::connect_and_migrate(&url)
        .await
        .unwrap_or_else(|error| panic!("setup failed: {error}"));
    let state = Console::open(pool, engine, settings)
        .await
        .unwrap_or_else(|error| panic!("snapshot failed: {error}"));
    usecases::services::register(
        &state,
        &server::services::Registry::with_demo_services().descriptions(),
    )
    .await
    .unwrap_or_else(|error| panic!("registration failed: {error}"));
    state
}

/// Runs one async test body once per engine, as two named tests.
#[macro_export]
macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name("sqlite").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name("postgres").await;
                }
            )*
        }
    };
}

/// The whole router over `state`, with the demo services.
pub fn router_for(state: &Console) -> server::Gateway {
    let config = server::config::Config {
        database_url: String::new(),
        site_addr: "127.0.0.1:3000".parse().expect("addr"),
        site_root: std::env::temp_dir(),
        session_timeout_secs: 3600,
        login_max_failures: 5,
        login_lockout_secs: 900,
        allow_registration: false,
        admin_email: None,
        admin_password: None,
        public_origins: None,
        demo: false,
        upstream_max_body_bytes: usecases::UPSTREAM_LIMIT_BYTES,
        upstream_max_response_bytes: usecases::UPSTREAM_LIMIT_BYTES,
        impersonation_minutes: usecases::IMPERSONATION_MINUTES,
    };
    server::router(
        state.clone(),
        std::sync::Arc::new(server::services::Registry::with_demo_services()),
        server::leptos_options(&config),
    )
}

/// A response of the router, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (invalid UTF-8 replaced).
    pub text: String,
    /// The body as JSON; `Null` when it is empty or not JSON (see `is_json`).
    pub json: Value,
}

impl Reply {
    /// Whether the body is JSON: `json` is `Null` both for a JSON `null`
    /// and for a body that is not JSON at all.
    pub fn is_json(&self) -> bool {
        !self.json.is_null()
            || self
                .text
                .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                == "null"
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }
}

/// Runs one request through `router` (the gateway, or a router of a
/// test's own) and reads the whole answer.
pub async fn send<S>(router: &S, request: Request<Body>) -> Reply
where
    S: tower::Service<Request<Body>, Response = axum::response::Response> + Clone,
    S::Error: std::fmt::Debug,
{
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}
