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
pub async fn list(pool: &Pool) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query_as::<_, RoleRecord>(
        "select role_id, name, is_system from role order by is_system desc, \
         case when name_key in ('authenticateduser', 'notauthenticateduser') then 0 else 1 end, \
         name_key",
    )
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
pub async fn find(conn: &mut Conn, name: &str) -> Result<Option<RoleRecord>, StoreError> {
    Ok(sqlx::query_as::<_, RoleRecord>(
        "select role_id, name, is_system from role where name_key = $1",
    )
    .bind(role_key(name))
    .fetch_optional(conn)
    .await?)
}

/// Every role, for resolving many cells at once.
pub async fn all(conn: &mut Conn) -> Result<Vec<RoleRecord>, StoreError> {
    Ok(
        sqlx::query_as::<_, RoleRecord>("select role_id, name, is_system from role")
            .fetch_all(conn)
            .await?,
    )
}

/// A new custom role; a taken name is [`crate::Unique::RoleName`].
pub async fn insert(
    conn: &mut Conn,
    role_id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into role (role_id, name, name_key, is_system, created_at, updated_at) \
         values ($1, $2, $3, 0, $4, $4)",
    )
    .bind(role_id)
    .bind(name)
    .bind(role_key(name))
    .bind(now)
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
