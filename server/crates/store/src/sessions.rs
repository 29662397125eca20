//! `user_session`: runtime sessions of application users, by the SHA-256
//! of their token. Creating and ending sessions happens inside a change;
//! the activity stamp (`touch`) and the removal of an expired session are
//! the runtime's own bookkeeping.

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct SessionRecord {
    pub app_user_id: String,
    pub application_id: String,
    pub last_seen_at: i64,
    /// An impersonation session's end, whatever its activity.
    pub expires_at: Option<i64>,
    /// Who issued an impersonation session (`admin:<email>`, `key:<name>`).
    pub impersonated_by: Option<String>,
}

/// `for share` on PostgreSQL: a change of the row (a password, a status)
/// waits for the transaction that read it, so its session delete sees the
/// session this one inserts. SQLite runs one writer at a time anyway.
pub(crate) fn row_lock(conn: &Conn) -> &'static str {
    if crate::is_postgres(conn) {
        " for share"
    } else {
        ""
    }
}

/// Opens a session only if the user is still enabled and still has the
/// password hash that was checked: a password change or a disable that
/// commits while the password is being checked leaves no session behind
/// (its delete would not see one inserted after it). True if opened.
pub async fn insert_if_current(
    conn: &mut Conn,
    token_hash: &str,
    user_id: &str,
    checked_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "insert into user_session (token_hash, app_user_id, created_at, last_seen_at) \
         select $1, app_user_id, $3, $3 from app_user \
         where app_user_id = $2 and password_hash = $4 and user_status = 'ENABLED'{}",
        row_lock(conn)
    );
    let done = sqlx::query(&sql)
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(checked_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(pool: &Pool, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
    Ok(sqlx::query_as::<_, SessionRecord>(
        "select s.app_user_id, u.application_id, s.last_seen_at, s.expires_at, s.impersonated_by \
         from user_session s join app_user u on u.app_user_id = s.app_user_id \
         where s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

/// Renews a session's activity; false if the session is gone.
pub async fn touch(pool: &Pool, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("update user_session set last_seen_at = $1 where token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a session that ran out of time: idle since `cutoff` or longer,
/// as stored (activity on another server since keeps it).
pub async fn delete_expired(pool: &Pool, token_hash: &str, cutoff: i64) -> Result<(), StoreError> {
    sqlx::query("delete from user_session where token_hash = $1 and last_seen_at <= $2")
        .bind(token_hash)
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(())
}

/// An impersonation session to open.
pub struct NewImpersonation<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a str,
    pub now: i64,
    /// It ends then, whatever its activity.
    pub expires_at: i64,
    /// Who issued it, as the audit names them.
    pub by: &'a str,
    /// The token hash of the console session that asked, if one did.
    pub console_session: Option<&'a str>,
    /// The hash of the admin API key that asked, if one did.
    pub issuing_key: Option<&'a str>,
}

/// Opens an impersonation session of an enabled user. True if opened.
pub async fn insert_impersonation(
    conn: &mut Conn,
    new: &NewImpersonation<'_>,
) -> Result<bool, StoreError> {
    let NewImpersonation {
        token_hash,
        user_id,
        now,
        expires_at,
        by,
        console_session,
        issuing_key,
    } = *new;
    // from a console session: only while it still exists (a sign-out
    // committing meanwhile leaves nothing behind)
    let session_live = if console_session.is_some() {
        " and exists (select 1 from console_session c where c.token_hash = $6)"
    } else {
        ""
    };
    // from a key: only while it opens anything (a revocation, an expiry or
    // its admin's disable committing meanwhile leaves nothing behind)
    let key_live = if issuing_key.is_some() {
        " and exists (select 1 from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id \
         where k.key_hash = $7 and a.disabled_at is null \
         and (k.expires_at is null or k.expires_at > $3))"
    } else {
        ""
    };
    let sql = format!(
        "insert into user_session (token_hash, app_user_id, created_at, last_seen_at, \
         expires_at, impersonated_by, console_session, issuing_key) \
         select $1, app_user_id, $3, $3, $4, $5, $6, $7 from app_user \
         where app_user_id = $2 and user_status = 'ENABLED'{session_live}{key_live}{}",
        row_lock(conn)
    );
    let done = sqlx::query(&sql)
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(by)
        .bind(console_session)
        .bind(issuing_key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the impersonation sessions whose issuer is gone at `now`: the
/// console session that asked for one (signed out, expired, or ended with
/// its admin's disable, deletion or password change), or the admin API
/// key (revoked, expired, or its admin disabled or deleted; sessions from
/// before keys were named by hash: no key of that name left). Their token
/// hashes.
pub async fn end_orphaned_impersonations(
    conn: &mut Conn,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let hashes: Vec<String> = sqlx::query_scalar(
        "select token_hash from user_session where impersonated_by is not null and (\
         (console_session is not null and not exists \
             (select 1 from console_session c where c.token_hash = user_session.console_session)) \
         or (issuing_key is not null and not exists \
             (select 1 from admin_api_key k \
              join console_admin a on a.console_admin_id = k.console_admin_id \
              where k.key_hash = user_session.issuing_key and a.disabled_at is null \
              and (k.expires_at is null or k.expires_at > $1))) \
         or (console_session is null and issuing_key is null and impersonated_by like 'key:%' \
             and not exists \
             (select 1 from admin_api_key k where 'key:' || k.name = user_session.impersonated_by)))",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for hash in &hashes {
        sqlx::query("delete from user_session where token_hash = $1")
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(hashes)
}

/// Ends one session; false if it did not exist.
pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("delete from user_session where token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of a user.
pub async fn delete_for_user(conn: &mut Conn, user_id: &str) -> Result<(), StoreError> {
    sqlx::query("delete from user_session where app_user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many sessions exist (tests check that a logout removed its row).
pub async fn count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("select count(*) from user_session")
        .fetch_one(pool)
        .await?)
}

/// Removes every session of an application idle since `cutoff` or longer;
/// returns how many.
pub async fn purge_expired(conn: &mut Conn, app: &str, cutoff: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "delete from user_session where (last_seen_at <= $1 or expires_at <= $3) and app_user_id in \
         (select app_user_id from app_user where application_id = $2)",
    )
    .bind(cutoff)
    .bind(app)
    .bind(crate::now_millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
