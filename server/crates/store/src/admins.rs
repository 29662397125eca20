//! `console_admin`, `console_session` and `admin_api_key`: the console's
//! own accounts, their sessions and their keys (tokens and keys stored only
//! as SHA-256).

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(FromRow)]
pub struct AdminRecord {
    pub console_admin_id: String,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
}

pub async fn find_by_email(pool: &Pool, email: &str) -> Result<Option<AdminRecord>, StoreError> {
    Ok(sqlx::query_as::<_, AdminRecord>(
        "select console_admin_id, password_hash, disabled_at from console_admin where email = $1",
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

/// A console admin as listed: never the password hash.
#[derive(Debug, Clone, FromRow)]
pub struct AdminRow {
    pub console_admin_id: String,
    pub email: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// Every console admin, by email.
pub async fn list(pool: &Pool) -> Result<Vec<AdminRow>, StoreError> {
    Ok(sqlx::query_as::<_, AdminRow>(
        "select console_admin_id, email, created_at, disabled_at from console_admin order by email",
    )
    .fetch_all(pool)
    .await?)
}

/// One admin, read inside a change.
pub async fn get(conn: &mut Conn, admin_id: &str) -> Result<Option<AdminRow>, StoreError> {
    Ok(sqlx::query_as::<_, AdminRow>(
        "select console_admin_id, email, created_at, disabled_at from console_admin \
         where console_admin_id = $1",
    )
    .bind(admin_id)
    .fetch_optional(conn)
    .await?)
}

/// The id of the enabled admin with this email, read inside a change.
pub async fn id_for_email_in(conn: &mut Conn, email: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "select console_admin_id from console_admin where email = $1 and disabled_at is null",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}

pub async fn count_enabled(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("select count(*) from console_admin where disabled_at is null")
            .fetch_one(conn)
            .await?,
    )
}

/// Disables (`Some(when)`) or enables (`None`) an admin.
pub async fn set_disabled(
    conn: &mut Conn,
    admin_id: &str,
    disabled_at: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update console_admin set disabled_at = $1, updated_at = $2 where console_admin_id = $3",
    )
    .bind(disabled_at)
    .bind(now)
    .bind(admin_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes an admin; their sessions and keys go with them. How many
/// sessions and keys went.
pub async fn delete(conn: &mut Conn, admin_id: &str) -> Result<(u64, u64), StoreError> {
    // the row first (a sign-in checking it holds it, so this waits for its
    // session), then what hangs on it
    sqlx::query("update console_admin set updated_at = updated_at where console_admin_id = $1")
        .bind(admin_id)
        .execute(&mut *conn)
        .await?;
    let sessions = sqlx::query("delete from console_session where console_admin_id = $1")
        .bind(admin_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let keys = sqlx::query("delete from admin_api_key where console_admin_id = $1")
        .bind(admin_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("delete from console_admin where console_admin_id = $1")
        .bind(admin_id)
        .execute(conn)
        .await?;
    Ok((sessions, keys))
}

pub async fn set_password_hash(
    conn: &mut Conn,
    admin_id: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update console_admin set password_hash = $1, updated_at = $2 where console_admin_id = $3",
    )
    .bind(password_hash)
    .bind(now)
    .bind(admin_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends an admin's console sessions, except the one whose token hash is
/// `keep` (the session that changed its own password). How many ended.
pub async fn delete_sessions(
    conn: &mut Conn,
    admin_id: &str,
    keep: Option<&str>,
) -> Result<u64, StoreError> {
    let done =
        sqlx::query("delete from console_session where console_admin_id = $1 and token_hash <> $2")
            .bind(admin_id)
            .bind(keep.unwrap_or(""))
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
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
         where s.token_hash = $1 and a.disabled_at is null",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

/// Opens a console session only if the admin is still enabled and still
/// has the password hash that was checked (see
/// [`crate::sessions::insert_if_current`]). True if opened.
pub async fn insert_session_if_current(
    conn: &mut Conn,
    token_hash: &str,
    admin_id: &str,
    checked_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "insert into console_session (token_hash, console_admin_id, created_at, last_seen_at) \
         select $1, console_admin_id, $3, $3 from console_admin \
         where console_admin_id = $2 and password_hash = $4 and disabled_at is null{}",
        crate::sessions::row_lock(conn)
    );
    let done = sqlx::query(&sql)
        .bind(token_hash)
        .bind(admin_id)
        .bind(now)
        .bind(checked_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
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
    /// the key's activity stamp, to the minute (see [`touch_key`])
    pub last_used_at: Option<i64>,
}

/// The owner of a key that exists and has not expired as of `now`.
pub async fn key_owner(
    pool: &Pool,
    key_hash: &str,
    now: i64,
) -> Result<Option<KeyOwner>, StoreError> {
    Ok(sqlx::query_as::<_, KeyOwner>(
        "select k.name, a.email, k.last_used_at from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id \
         where k.key_hash = $1 and (k.expires_at is null or k.expires_at > $2) \
         and a.disabled_at is null",
    )
    .bind(key_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

/// Keys' activity stamps are kept to the minute: a write per call would
/// cost every scripted change a second commit.
pub const KEY_TOUCH_MILLIS: i64 = 60_000;

/// Whether a key last stamped at `last_used_at` is due a new stamp at `now`.
pub fn key_touch_due(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_none_or(|last| last < now - KEY_TOUCH_MILLIS)
}

/// The activity stamp of a key, to the minute (a call in the same minute
/// as another leaves it as it is).
pub async fn touch_key(pool: &Pool, key_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "update admin_api_key set last_used_at = $1 \
         where key_hash = $2 and (last_used_at is null or last_used_at < $3)",
    )
    .bind(now)
    .bind(key_hash)
    .bind(now - KEY_TOUCH_MILLIS)
    .execute(pool)
    .await?;
    Ok(())
}
