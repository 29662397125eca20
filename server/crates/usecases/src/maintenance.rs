//! Housekeeping that no request triggers: expired sessions and stale
//! failed-login counts are purged on a schedule, as one change.

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
    for ended in store::sessions::end_orphaned_impersonations(change.conn()).await? {
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
