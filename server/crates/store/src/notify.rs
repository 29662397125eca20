//! PostgreSQL's `LISTEN`/`NOTIFY`: a committed change wakes every server
//! sharing the database at once, instead of at its next poll. The signal
//! carries nothing; the servers read the counters and the event feed as a
//! poll would, so a signal that is lost (a dropped connection) costs only
//! time, never a change: the poll stays as the fallback. SQLite has no
//! such signal and needs none (one server per file).

use sqlx::postgres::PgListener;

use crate::{is_postgres, Conn, Pool, StoreError};

/// The channel every server listens on.
pub const CHANNEL: &str = "console_change";

/// Signals the change in `conn`'s transaction: PostgreSQL delivers it at
/// the commit, and only then (a rolled-back change wakes nobody).
pub async fn signal(conn: &mut Conn) -> Result<(), StoreError> {
    if is_postgres(conn) {
        sqlx::query("notify console_change").execute(conn).await?;
    }
    Ok(())
}

/// A connection of its own that waits for the signals.
pub struct Listener(PgListener);

/// What [`Listener::next`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// A change was committed.
    Change,
    /// The connection was lost and is opened again by the next call:
    /// signals sent meanwhile are gone.
    Lost,
}

impl Listener {
    /// Listens on the pool's database; `None` for SQLite.
    pub async fn connect(pool: &Pool) -> Result<Option<Listener>, StoreError> {
        let url = pool.connect_options().database_url.clone();
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Ok(None);
        }
        let mut listener = PgListener::connect(url.as_str()).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Listener(listener)))
    }

    /// Waits for the next signal.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(_) => Heard::Change,
            None => Heard::Lost,
        })
    }
}
