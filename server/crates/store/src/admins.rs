//! `console_admin`, `console_session` and `admin_api_key`: the console's
//! own accounts, their sessions and their keys (tokens and keys stored only
//! as SHA-256).

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(FromRow)]
pub struct AdminRecord {
    pub console_admin_id: String,
    pub password_hash: String,
}

pub async fn find_by_email(pool: &Pool, email: &str) -> Result<Option<AdminRecord>, StoreError> {
    Ok(sqlx::query_as::<_, AdminRecord>(
        "select console_admin_id, password_hash from console_admin where email = $1",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?)
}

/// A taken email is [`crate::Unique::AdminEmail`].
pub async fn insert(
    conn: &mut Conn,
    admin_id: &str,
    email: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into console_admin (console_admin_id, email, password_hash, created_at, updated_at) \
         values ($1, $2, $3, $4, $4)",
    )
    .bind(admin_id)
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("select count(*) from console_admin")
        .fetch_one(pool)
        .await?)
}

#[derive(FromRow)]
pub struct ConsoleSession {
    pub email: String,
    pub last_seen_at: i64,
}

pub async fn session(pool: &Pool, token_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
    Ok(sqlx::query_as::<_, ConsoleSession>(
        "select a.email, s.last_seen_at from console_session s \
         join console_admin a on a.console_admin_id = s.console_admin_id \
         where s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    admin_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into console_session (token_hash, console_admin_id, created_at, last_seen_at) \
         values ($1, $2, $3, $3)",
    )
    .bind(token_hash)
    .bind(admin_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The activity stamp of a console session.
pub async fn touch_session(pool: &Pool, token_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("update console_session set last_seen_at = $1 where token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes a console session that ran out of time.
pub async fn delete_expired_session(pool: &Pool, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("delete from console_session where token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("delete from console_session where token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes every console session idle since `cutoff` or longer.
pub async fn purge_expired_sessions(conn: &mut Conn, cutoff: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from console_session where last_seen_at <= $1")
        .bind(cutoff)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn id_for_email(pool: &Pool, email: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("select console_admin_id from console_admin where email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn insert_key(
    conn: &mut Conn,
    key_hash: &str,
    name: &str,
    admin_id: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into admin_api_key (key_hash, name, console_admin_id, created_at, expires_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(key_hash)
    .bind(name)
    .bind(admin_id)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A key's public id: the first 16 hex digits of its hash (the key itself
/// is never stored, and its hash reveals nothing of it).
pub const KEY_ID_LENGTH: usize = 16;

#[derive(FromRow)]
pub struct KeyRecord {
    pub key_id: String,
    pub name: String,
    pub email: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// Every key, newest first, without its secret.
pub async fn keys(pool: &Pool) -> Result<Vec<KeyRecord>, StoreError> {
    Ok(sqlx::query_as::<_, KeyRecord>(
        "select substr(k.key_hash, 1, 16) as key_id, k.name, a.email, k.created_at, \
         k.last_used_at, k.expires_at from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id \
         order by k.created_at desc, k.name",
    )
    .fetch_all(pool)
    .await?)
}

/// Deletes the key with this public id; its name if it existed.
pub async fn delete_key(conn: &mut Conn, key_id: &str) -> Result<Option<String>, StoreError> {
    let name: Option<String> =
        sqlx::query_scalar("select name from admin_api_key where substr(key_hash, 1, 16) = $1")
            .bind(key_id)
            .fetch_optional(&mut *conn)
            .await?;
    if name.is_some() {
        sqlx::query("delete from admin_api_key where substr(key_hash, 1, 16) = $1")
            .bind(key_id)
            .execute(conn)
            .await?;
    }
    Ok(name)
}

#[derive(FromRow)]
pub struct KeyOwner {
    pub name: String,
    pub email: String,
}

/// The owner of a key that exists and has not expired as of `now`.
pub async fn key_owner(
    pool: &Pool,
    key_hash: &str,
    now: i64,
) -> Result<Option<KeyOwner>, StoreError> {
    Ok(sqlx::query_as::<_, KeyOwner>(
        "select k.name, a.email from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id \
         where k.key_hash = $1 and (k.expires_at is null or k.expires_at > $2)",
    )
    .bind(key_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

/// The activity stamp of a key, to the minute: a write per call would cost
/// every scripted change a second commit.
pub async fn touch_key(pool: &Pool, key_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "update admin_api_key set last_used_at = $1 \
         where key_hash = $2 and (last_used_at is null or last_used_at < $3)",
    )
    .bind(now)
    .bind(key_hash)
    .bind(now - 60_000)
    .execute(pool)
    .await?;
    Ok(())
}
