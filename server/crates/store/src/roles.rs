//! `role`: the system roles and custom roles. Names are unique whatever
//! their case (`name_key` is the lowercase name).

use policy::names::role_key;
use policy::wire::Role;
use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

/// A role with its key.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RoleRecord {
    pub role_id: String,
    pub name: String,
    pub is_system: i64,
}

impl RoleRecord {
    pub fn system(&self) -> bool {
        self.is_system != 0
    }
}

/// The roles every caller holds one of, then the API key roles, then
/// custom roles, each by name.
pub async fn list(pool: &Pool, app: &str) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query_as::<_, RoleRecord>(
        "select role_id, name, is_system from role where application_id = $1 order by is_system desc, \
         case when name_key in ('authenticateduser', 'notauthenticateduser') then 0 else 1 end, \
         name_key",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Role {
            system: row.system(),
            name: row.name,
        })
        .collect())
}

/// A role by name, whatever its case.
pub async fn find(
    conn: &mut Conn,
    app: &str,
    name: &str,
) -> Result<Option<RoleRecord>, StoreError> {
    Ok(sqlx::query_as::<_, RoleRecord>(
        "select role_id, name, is_system from role where application_id = $1 and name_key = $2",
    )
    .bind(app)
    .bind(role_key(name))
    .fetch_optional(conn)
    .await?)
}

/// Every role of an application, for resolving many cells at once.
pub async fn all(conn: &mut Conn, app: &str) -> Result<Vec<RoleRecord>, StoreError> {
    Ok(sqlx::query_as::<_, RoleRecord>(
        "select role_id, name, is_system from role where application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?)
}

/// A new custom role; a taken name is [`crate::Unique::RoleName`].
pub async fn insert(
    conn: &mut Conn,
    app: &str,
    role_id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    insert_with(conn, app, role_id, name, false, now).await
}

/// A new role, system (every application's own, key roles) or custom.
pub async fn insert_with(
    conn: &mut Conn,
    app: &str,
    role_id: &str,
    name: &str,
    system: bool,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into role (role_id, name, name_key, is_system, created_at, updated_at, application_id) \
         values ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(role_id)
    .bind(name)
    .bind(role_key(name))
    .bind(i64::from(system))
    .bind(now)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn rename(
    conn: &mut Conn,
    role_id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("update role set name = $1, name_key = $2, updated_at = $3 where role_id = $4")
        .bind(name)
        .bind(role_key(name))
        .bind(now)
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the role with its assignments and cells (foreign keys cascade).
pub async fn delete(conn: &mut Conn, role_id: &str) -> Result<(), StoreError> {
    sqlx::query("delete from role where role_id = $1")
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(())
}
