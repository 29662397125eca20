//! The change counters in `policy_version`: every server polls them and
//! acts when another server moved them. Only a change's transaction moves
//! them, so a change and its count commit together.

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Versions {
    /// Users, roles, services or permissions changed.
    pub policy: i64,
    /// The number of the last runtime event (the `runtime_event` feed); the
    /// column's name is older than the feed.
    pub sessions: i64,
}

pub async fn read(pool: &Pool) -> Result<Versions, StoreError> {
    Ok(sqlx::query_as::<_, Versions>(
        "select policy, sessions from policy_version where policy_version_id = 1",
    )
    .fetch_one(pool)
    .await?)
}

/// Counts a change of the policy; returns the new count.
pub async fn bump_policy(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "update policy_version set policy = policy + 1 where policy_version_id = 1 returning policy",
    )
    .fetch_one(conn)
    .await?)
}

/// Numbers a change's runtime events; returns their number. The row lock
/// it takes until the commit keeps the numbers in commit order.
pub async fn bump_sessions(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "update policy_version set sessions = sessions + 1 where policy_version_id = 1 returning sessions",
    )
    .fetch_one(conn)
    .await?)
}

/// Counts a change of one application's policy (besides [`bump_policy`]);
/// returns the application's new count, which its snapshot is compared
/// with (`None`: the application is gone).
pub async fn bump_app(conn: &mut Conn, app: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "update application set policy_version = policy_version + 1 \
         where application_id = $1 returning policy_version",
    )
    .bind(app)
    .fetch_optional(conn)
    .await?)
}

/// Every application with its policy count.
pub async fn app_versions(pool: &Pool) -> Result<Vec<(String, i64)>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        application_id: String,
        policy_version: i64,
    }
    Ok(
        sqlx::query_as::<_, Row>("select application_id, policy_version from application")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.application_id, row.policy_version))
            .collect(),
    )
}

/// One application's policy count; `None` if it no longer exists.
pub async fn app_version(pool: &Pool, app: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("select policy_version from application where application_id = $1")
            .bind(app)
            .fetch_optional(pool)
            .await?,
    )
}

/// Takes the counters' row lock (PostgreSQL) or the database's write lock
/// (SQLite) until the commit, without counting anything: changes that
/// check a rule across rows (the last enabled admin) run one at a time.
pub async fn lock(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query(
        "update policy_version set policy_version_id = policy_version_id where policy_version_id = 1",
    )
    .execute(conn)
    .await?;
    Ok(())
}
