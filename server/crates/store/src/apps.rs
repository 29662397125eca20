//! `application` and `api_key`: the applications of the console, their
//! settings, and the API keys of each with the role every key carries.
//! The default application is made by migration and cannot be deleted.

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AppRow {
    pub application_id: String,
    pub name: String,
    pub is_default: i64,
    /// Settings; `None` follows the server's configuration.
    pub session_timeout_secs: Option<i64>,
    pub max_failed_logins: Option<i64>,
    pub lockout_secs: Option<i64>,
    pub registration: Option<i64>,
}

const APP_COLUMNS: &str = "application_id, name, is_default, session_timeout_secs, \
     max_failed_logins, lockout_secs, registration";

/// Every application, the default first, then by name.
pub async fn list(pool: &Pool) -> Result<Vec<AppRow>, StoreError> {
    Ok(sqlx::query_as::<_, AppRow>(&format!(
        "select {APP_COLUMNS} from application order by is_default desc, lower(name), name"
    ))
    .fetch_all(pool)
    .await?)
}

/// One application by id (exactly as stored).
pub async fn get(conn: &mut Conn, application_id: &str) -> Result<Option<AppRow>, StoreError> {
    Ok(sqlx::query_as::<_, AppRow>(&format!(
        "select {APP_COLUMNS} from application where application_id = $1"
    ))
    .bind(application_id)
    .fetch_optional(conn)
    .await?)
}

/// The default application (made by migration, so it always exists).
pub async fn default_application(pool: &Pool) -> Result<AppRow, StoreError> {
    Ok(sqlx::query_as::<_, AppRow>(&format!(
        "select {APP_COLUMNS} from application where is_default = 1"
    ))
    .fetch_one(pool)
    .await?)
}

/// A new application; a taken name is [`crate::Unique::ApplicationName`].
pub async fn insert(
    conn: &mut Conn,
    application_id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into application (application_id, name, is_default, created_at) values ($1, $2, 0, $3)",
    )
    .bind(application_id)
    .bind(name)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn rename(conn: &mut Conn, application_id: &str, name: &str) -> Result<(), StoreError> {
    sqlx::query("update application set name = $1 where application_id = $2")
        .bind(name)
        .bind(application_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The settings of an application as given (`None` follows the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredSettings {
    pub session_timeout_secs: Option<i64>,
    pub max_failed_logins: Option<i64>,
    pub lockout_secs: Option<i64>,
    pub registration: Option<bool>,
}

pub async fn set_settings(
    conn: &mut Conn,
    application_id: &str,
    settings: StoredSettings,
) -> Result<(), StoreError> {
    sqlx::query(
        "update application set session_timeout_secs = $1, max_failed_logins = $2, \
         lockout_secs = $3, registration = $4 where application_id = $5",
    )
    .bind(settings.session_timeout_secs)
    .bind(settings.max_failed_logins)
    .bind(settings.lockout_secs)
    .bind(settings.registration.map(i64::from))
    .bind(application_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes an application and everything of it: users (with their roles,
/// cells and sessions), roles, services, keys, login counts, audit events
/// and the demo service's orders. False (and nothing deleted) for the
/// default application or an unknown id.
pub async fn delete(conn: &mut Conn, application_id: &str) -> Result<bool, StoreError> {
    let deletable: Option<String> = sqlx::query_scalar(
        "select application_id from application where application_id = $1 and is_default = 0",
    )
    .bind(application_id)
    .fetch_optional(&mut *conn)
    .await?;
    if deletable.is_none() {
        return Ok(false);
    }
    for sql in [
        "delete from api_key where application_id = $1",
        "delete from app_user where application_id = $1",
        "delete from role where application_id = $1",
        "delete from service where application_id = $1",
        "delete from login_attempt where application_id = $1",
        "delete from audit_event where application_id = $1",
        "delete from demo_order where application_id = $1",
        "delete from permission_suite where application_id = $1",
        "delete from application where application_id = $1",
    ] {
        sqlx::query(sql)
            .bind(application_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(true)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct KeyRow {
    pub api_key: String,
    pub application_id: String,
    pub name: String,
    /// The name of the role the key carries.
    pub role: String,
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

/// Makes a role custom again (its key was deleted): it keeps its users and
/// cells, and an admin may now rename or delete it.
pub async fn release_role(conn: &mut Conn, role_id: &str) -> Result<(), StoreError> {
    sqlx::query("update role set is_system = 0 where role_id = $1")
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(())
}
