//! Several servers on one database: each polls the change counters and
//! acts on what another server changed. A database that is down leaves the
//! last snapshot in force (checks go on answering from it); once it is
//! back, any change missed meanwhile shows as a different counter.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use store::StoreError;

use crate::Runtime;

impl Runtime {
    /// Acts on changes another server made: reloads the snapshot, drops the
    /// session cache. True if anything was refreshed.
    pub async fn refresh_if_changed(&self) -> Result<bool, StoreError> {
        let versions = store::counters::read(&self.pool).await?;
        let mut refreshed = false;
        if versions.sessions != self.sessions_seen.load(Ordering::SeqCst) {
            self.sessions.forget_all();
            self.sessions_seen
                .store(versions.sessions, Ordering::SeqCst);
            refreshed = true;
        }
        if versions.policy != self.policy_seen.load(Ordering::SeqCst) {
            let _one_at_a_time = self.reload_lock.lock().await;
            // a change made here meanwhile may have caught up already
            let versions = store::counters::read(&self.pool).await?;
            if versions.policy != self.policy_seen.load(Ordering::SeqCst) {
                self.reload_locked().await?;
                refreshed = true;
            }
        }
        Ok(refreshed)
    }

    /// Polls the counters every `every`, for as long as the process runs.
    pub fn spawn_refresher(self: Arc<Self>, every: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticker.tick().await;
                match self.refresh_if_changed().await {
                    Ok(_) => {
                        if failing {
                            tracing::info!("database reachable again; snapshot checked");
                        }
                        failing = false;
                    }
                    Err(error) => {
                        if !failing {
                            tracing::warn!(%error, "cannot check for changes; answering from the last snapshot");
                        }
                        failing = true;
                    }
                }
            }
        });
    }
}
