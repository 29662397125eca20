//! `login_attempt`: failed application logins by email, known or unknown.
//! An attempt is counted before the password is checked and forgiven when
//! it succeeds, so however many guesses arrive at once, at most the limit
//! are judged before the email answers "locked".

use crate::{Conn, StoreError};

/// What counting an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted (as the `counted`-th failure in a row, until forgiven); the
    /// password may be checked.
    Judge { counted: i64 },
    /// Locked: refused without a check.
    Locked,
}

/// Counts one attempt for `email` as of `now`, unless it is locked. The
/// attempt that reaches `max_failures` sets the lock until `lock_until`; a
/// lock that has run out starts a fresh count.
pub async fn admit(
    conn: &mut Conn,
    app: &str,
    email: &str,
    now: i64,
    max_failures: i64,
    lock_until: i64,
) -> Result<Admission, StoreError> {
    // in an update, every right-hand side sees the row as it was
    let counted: Option<i64> = sqlx::query_scalar(
        "insert into login_attempt (email, failed_logins, locked_until, updated_at, application_id) \
         values ($1, 1, case when 1 >= $2 then $3 else null end, $4, $5) \
         on conflict (application_id, email) do update set \
         failed_logins = case when login_attempt.locked_until <= $4 then 1 \
             else login_attempt.failed_logins + 1 end, \
         locked_until = case \
             when (case when login_attempt.locked_until <= $4 then 1 \
                   else login_attempt.failed_logins + 1 end) >= $2 then $3 \
             when login_attempt.locked_until <= $4 then null \
             else login_attempt.locked_until end, \
         updated_at = $4 \
         where login_attempt.locked_until is null or login_attempt.locked_until <= $4 \
         returning failed_logins",
    )
    .bind(email)
    .bind(max_failures)
    .bind(lock_until)
    .bind(now)
    .bind(app)
    .fetch_optional(conn)
    .await?;
    Ok(match counted {
        Some(counted) => Admission::Judge { counted },
        None => Admission::Locked,
    })
}

/// A right password, admitted as the `counted`-th attempt: forgives that
/// many failures (its own and those before it), keeping any counted since
/// (a guesser's), and the lock only if those alone reach `max_failures`.
pub async fn forgive_up_to(
    conn: &mut Conn,
    app: &str,
    email: &str,
    counted: i64,
    max_failures: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update login_attempt set \
         failed_logins = case when failed_logins > $2 then failed_logins - $2 else 0 end, \
         locked_until = case when failed_logins - $2 >= $3 then locked_until else null end \
         where email = $1 and application_id = $4",
    )
    .bind(email)
    .bind(counted)
    .bind(max_failures)
    .bind(app)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "delete from login_attempt where email = $1 and application_id = $2 and failed_logins <= 0",
    )
    .bind(email)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the failures of `email` (a right password, a new password, a
/// status change by an admin).
pub async fn forgive(conn: &mut Conn, app: &str, email: &str) -> Result<(), StoreError> {
    sqlx::query("delete from login_attempt where email = $1 and application_id = $2")
        .bind(email)
        .bind(app)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes counts that can no longer lock anything: unlocked or expired,
/// and untouched since `before`. Returns how many went.
pub async fn purge(conn: &mut Conn, app: &str, now: i64, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "delete from login_attempt where updated_at < $1 \
         and (locked_until is null or locked_until <= $2) and application_id = $3",
    )
    .bind(before)
    .bind(now)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Removes counts of applications that no longer exist.
pub async fn purge_orphans(conn: &mut Conn) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "delete from login_attempt where application_id not in (select application_id from application)",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
