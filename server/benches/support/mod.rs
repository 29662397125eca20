//! What the server benchmarks share: a console on a fresh SQLite database
//! holding the large generated application, and percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use fixture::{Fixture, Size};
use http::{Request, StatusCode};
use serde_json::Value;
use server::services::Registry;
use server::Gateway;
use tower::ServiceExt;
use usecases::Console;

/// The bench's console admin.
pub const ADMIN: &str = "bench@example.com";

/// A console seeded with the large fixture (`seed` picks it) on the
/// database at `url`, or on a new SQLite file in a temporary folder; the
/// folder to remove afterwards.
pub async fn large_console(
    registry: &Arc<Registry>,
    seed: u64,
    url: Option<String>,
) -> (Console, server::config::Config, Fixture, PathBuf) {
    seeded_console(registry, Size::LARGE, seed, url, "console-bench").await
}

/// [`large_console`] at any size, its folder named after `name`.
pub async fn seeded_console(
    registry: &Arc<Registry>,
    size: Size,
    seed: u64,
    url: Option<String>,
    name: &str,
) -> (Console, server::config::Config, Fixture, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = url.unwrap_or_else(|| format!("sqlite://{}/console.db", dir.display()));
    let config = server::config::Config {
        database_url: url,
        site_addr: "127.0.0.1:0".parse().expect("addr"),
        site_root: std::env::temp_dir(),
        session_timeout_secs: 3600,
        login_max_failures: 5,
        login_lockout_secs: 900,
        allow_registration: false,
        admin_email: Some(ADMIN.to_string()),
        admin_password: Some("bench-password".to_string()),
        public_origins: None,
        demo: false,
        upstream_max_body_bytes: usecases::UPSTREAM_LIMIT_BYTES,
        upstream_max_response_bytes: usecases::UPSTREAM_LIMIT_BYTES,
        impersonation_minutes: usecases::IMPERSONATION_MINUTES,
    };
    let state = server::prepare_state(&config, registry)
        .await
        .expect("state");
    let started = Instant::now();
    let fixture = Fixture::generate(size, seed);
    server::demo::seed_fixture(&state, &fixture)
        .await
        .expect("fixture");
    eprintln!(
        "fixture loaded: {} users, {} roles, {} methods, {} cells in {:.1?}",
        fixture.users.len(),
        fixture.roles.len(),
        size.methods(),
        fixture.cells.len(),
        started.elapsed()
    );
    state.runtime.reload().await.expect("reload");
    (state, config, fixture, dir)
}

/// The value below which `p` of the sorted samples fall.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// One request through the router in this process: the status and the
/// JSON body (`Null` when it is not JSON).
#[allow(dead_code, reason = "not every benchmark sends requests")]
pub async fn send(router: &Gateway, request: Request<Body>) -> (StatusCode, Value) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
