//! Housekeeping that no request triggers: expired sessions and stale
//! failed-login counts are purged on a schedule, as one change; the rows
//! of time-limited cells whose end has come are deleted and audited as
//! done by the system.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::change::Change;
use crate::{Actor, Console, Error};

/// How often a server purges.
pub const PURGE_EVERY: Duration = Duration::from_secs(600);

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub user_sessions: u64,
    pub console_sessions: u64,
    pub login_attempts: u64,
    pub runtime_events: u64,
}

/// Removes sessions idle for the session timeout (they can never be used
/// again) and failed-login counts that neither lock nor were touched within
/// the lockout time (a new failure would start a fresh count anyway), and
/// runtime events older than [`runtime::sync::EVENT_KEEP`].
pub async fn purge_expired(console: &Console) -> Result<Purged, Error> {
    let now = store::now_millis();
    let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    let cutoff = |duration: Duration| now.saturating_sub(millis(duration));
    let actor = Actor::System;
    let mut change = Change::begin_console(console, &actor).await?;
    let mut purged = Purged {
        console_sessions: store::admins::purge_expired_sessions(
            change.conn(),
            cutoff(console.settings.session_timeout),
        )
        .await?,
        runtime_events: store::events::purge(change.conn(), cutoff(runtime::sync::EVENT_KEEP))
            .await?,
        ..Purged::default()
    };
    // each application by its own timeouts
    for app in console.runtime.applications() {
        let settings = console.settings_with(app.settings);
        let (app, conn) = (&app.application_id, change.conn());
        purged.user_sessions +=
            store::sessions::purge_expired(conn, app, cutoff(settings.session_timeout)).await?;
        purged.login_attempts +=
            store::attempts::purge(change.conn(), app, now, cutoff(settings.lockout)).await?;
    }
    // counts left by a login that raced the deletion of its application
    purged.login_attempts += store::attempts::purge_orphans(change.conn()).await?;
    // sessions got to invoke as users, whose console session expired above
    // or whose key has expired
    for ended in store::sessions::end_orphaned_impersonations(change.conn(), now).await? {
        change.session_ended(&ended);
        purged.user_sessions += 1;
    }
    change.commit().await?;
    Ok(purged)
}

/// Purges every [`PURGE_EVERY`] for as long as the process runs.
pub fn spawn_purger(console: Arc<Console>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PURGE_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match purge_expired(&console).await {
                Ok(purged) => tracing::debug!(?purged, "expired rows purged"),
                Err(error) => tracing::warn!(%error, "cannot purge expired rows"),
            }
        }
    });
}

/// How often the expirer looks for ended cells when no snapshot woke it
/// (a cell that ends while nobody calls, or one another server set).
pub const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// Deletes the time-limited cells whose end has come, one change per
/// application by the system, one `permission.expire` audit event per
/// cell; returns how many it deleted. The runtime has answered Inherit
/// for them since their end already: this makes the stored set say so.
/// Of several servers doing it at once, one deletes and audits each cell.
pub async fn expire_cells(console: &Console) -> Result<usize, Error> {
    let now = store::now_millis();
    let mut conn = store::acquire(&console.pool).await?;
    let apps: BTreeSet<String> =
        store::permissions::ended_cells(&mut conn, None, now, crate::permissions::EXPIRE_AT_ONCE)
            .await?
            .into_iter()
            .map(|cell| cell.application_id)
            .collect();
    drop(conn);
    let actor = Actor::System;
    let mut expired = 0;
    for app in apps {
        let console = Console {
            app: app.as_str().into(),
            ..console.clone()
        };
        let mut change = Change::begin(&console, &actor).await?;
        change.serialize().await?;
        let deleted = crate::permissions::expire_ended(&mut change, &app, now).await?;
        if deleted > 0 {
            change.commit().await?;
            expired += deleted;
        }
    }
    Ok(expired)
}

/// Runs [`expire_cells`] every [`EXPIRE_EVERY`], and at once when a
/// snapshot saw a cell end, for as long as the process runs.
pub fn spawn_expirer(console: Arc<Console>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(EXPIRE_EVERY) => {}
                () = console.runtime.cells_ended() => {}
            }
            match expire_cells(&console).await {
                Ok(0) => {}
                Ok(expired) => tracing::debug!(expired, "time-limited cells ended"),
                Err(error) => tracing::warn!(%error, "cannot delete ended cells"),
            }
        }
    });
}
