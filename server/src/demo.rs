//! The demo data set `make run` starts with.

use app::admins::ssr::ensure_admin;
use app::db::Pool;

pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-password";

/// Seeds what is missing; running it twice changes nothing.
pub async fn seed(pool: &Pool) -> Result<(), String> {
    ensure_admin(pool, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
        .await
        .map_err(|error| format!("cannot seed the demo admin: {error}"))?;
    Ok(())
}
