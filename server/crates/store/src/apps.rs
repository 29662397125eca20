//! `application` and `api_key`: the applications of the console and the
//! API keys of each, with the system role every key carries. This version
//! keeps one application, the default, made by migration.

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AppRow {
    pub application_id: String,
    pub name: String,
}

/// The default application (made by migration, so it always exists).
pub async fn default_application(pool: &Pool) -> Result<AppRow, StoreError> {
    Ok(sqlx::query_as::<_, AppRow>(
        "select application_id, name from application where is_default = 1",
    )
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct KeyRow {
    pub api_key: String,
    pub application_id: String,
    pub name: String,
    /// The name of the role the key carries.
    pub role: String,
}

/// Every key of every application, with its role's name: what the runtime
/// resolves keys with.
pub async fn all_keys(pool: &Pool) -> Result<Vec<KeyRow>, StoreError> {
    Ok(sqlx::query_as::<_, KeyRow>(
        "select k.api_key, k.application_id, k.name, r.name as role from api_key k \
         join role r on r.role_id = k.role_id order by k.created_at, k.name",
    )
    .fetch_all(pool)
    .await?)
}

/// The keys of one application: the default kinds in their usual order,
/// then custom ones, oldest first.
pub async fn keys(pool: &Pool, application_id: &str) -> Result<Vec<KeyRow>, StoreError> {
    Ok(sqlx::query_as::<_, KeyRow>(
        "select k.api_key, k.application_id, k.name, r.name as role from api_key k \
         join role r on r.role_id = k.role_id where k.application_id = $1 \
         order by case k.name when 'REST' then 0 when 'JS' then 1 when 'Android' then 2 \
         when 'iOS' then 3 when '.NET' then 4 when 'CodeRunner' then 5 else 6 end, \
         k.created_at, k.name",
    )
    .bind(application_id)
    .fetch_all(pool)
    .await?)
}

/// Gives the key named `name` a new value; false if there is no such key.
pub async fn regenerate(
    conn: &mut Conn,
    application_id: &str,
    name: &str,
    new_key: &str,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("update api_key set api_key = $1 where application_id = $2 and name = $3")
            .bind(new_key)
            .bind(application_id)
            .bind(name)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A taken name is [`crate::Unique::ApiKeyName`].
pub async fn insert_key(
    conn: &mut Conn,
    api_key: &str,
    application_id: &str,
    name: &str,
    role_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into api_key (api_key, application_id, name, role_id, created_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(api_key)
    .bind(application_id)
    .bind(name)
    .bind(role_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a key; the id of the role it carried, if it existed.
pub async fn delete_key(
    conn: &mut Conn,
    application_id: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let role_id: Option<String> =
        sqlx::query_scalar("select role_id from api_key where application_id = $1 and name = $2")
            .bind(application_id)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    if role_id.is_some() {
        sqlx::query("delete from api_key where application_id = $1 and name = $2")
            .bind(application_id)
            .bind(name)
            .execute(conn)
            .await?;
    }
    Ok(role_id)
}
