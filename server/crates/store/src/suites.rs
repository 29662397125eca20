//! `permission_suite`: saved permission tests, per application, by name.
//! The body is the suite's JSON; the use cases read and check it.

use sqlx::FromRow;

use crate::{Conn, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SuiteRecord {
    pub name: String,
    pub body: String,
    pub updated_at: i64,
}

/// Every saved suite of an application, by name.
pub async fn list(conn: &mut Conn, app: &str) -> Result<Vec<SuiteRecord>, StoreError> {
    Ok(sqlx::query_as::<_, SuiteRecord>(
        "select name, body, updated_at from permission_suite where application_id = $1 order by name",
    )
    .bind(app)
    .fetch_all(conn)
    .await?)
}

/// One suite, if saved.
pub async fn get(
    conn: &mut Conn,
    app: &str,
    name: &str,
) -> Result<Option<SuiteRecord>, StoreError> {
    Ok(sqlx::query_as::<_, SuiteRecord>(
        "select name, body, updated_at from permission_suite where application_id = $1 and name = $2",
    )
    .bind(app)
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Saves a suite under its name, replacing one of the same name.
pub async fn put(
    conn: &mut Conn,
    app: &str,
    name: &str,
    body: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into permission_suite (application_id, name, body, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) \
         on conflict (application_id, name) do update set body = excluded.body, \
         updated_at = excluded.updated_at",
    )
    .bind(app)
    .bind(name)
    .bind(body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a suite; whether there was one.
pub async fn delete(conn: &mut Conn, app: &str, name: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("delete from permission_suite where application_id = $1 and name = $2")
        .bind(app)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
