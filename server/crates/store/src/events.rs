//! `runtime_event`: the feed other servers read to forget ended sessions
//! and read changed users again, one event at a time instead of dropping
//! their whole cache. Events are written inside the change that caused
//! them, numbered by the `sessions` counter (see [`crate::counters`]).

use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

/// What an event asks of the other servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// One session ended; the subject is its token hash.
    Token,
    /// Every session of a user ended; the subject is the user id.
    UserSessions,
    /// A user was added or changed; the subject is the user id.
    User,
    /// One permission cell changed, and nothing else of its application's
    /// policy; the subject says which (the runtime writes and reads it), so
    /// other servers patch their snapshot instead of reloading it.
    Cell,
}

impl EventKind {
    fn as_stored(self) -> &'static str {
        match self {
            EventKind::Token => "token",
            EventKind::UserSessions => "user_sessions",
            EventKind::User => "user",
            EventKind::Cell => "cell",
        }
    }

    fn from_stored(stored: &str) -> Option<EventKind> {
        match stored {
            "token" => Some(EventKind::Token),
            "user_sessions" => Some(EventKind::UserSessions),
            "user" => Some(EventKind::User),
            "cell" => Some(EventKind::Cell),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    pub seq: i64,
    pub kind: EventKind,
    pub subject: String,
}

pub async fn insert(
    conn: &mut Conn,
    seq: i64,
    kind: EventKind,
    subject: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into runtime_event (seq, kind, subject, created_at) values ($1, $2, $3, $4)",
    )
    .bind(seq)
    .bind(kind.as_stored())
    .bind(subject)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The events numbered after `after` up to `up_to`, in order. A kind this
/// server does not know is an error: it cannot follow what it cannot read.
pub async fn between(pool: &Pool, after: i64, up_to: i64) -> Result<Vec<RuntimeEvent>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        seq: i64,
        kind: String,
        subject: String,
    }
    let rows = sqlx::query_as::<_, Row>(
        "select seq, kind, subject from runtime_event where seq > $1 and seq <= $2 \
         order by seq, kind, subject",
    )
    .bind(after)
    .bind(up_to)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let kind = EventKind::from_stored(&row.kind)
                .ok_or_else(|| StoreError::UnknownEvent(row.kind.clone()))?;
            Ok(RuntimeEvent {
                seq: row.seq,
                kind,
                subject: row.subject,
            })
        })
        .collect()
}

/// Removes events older than `cutoff`: a server that fell further behind
/// sees a gap in the numbers and drops its whole cache instead.
pub async fn purge(conn: &mut Conn, cutoff: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from runtime_event where created_at < $1")
        .bind(cutoff)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
