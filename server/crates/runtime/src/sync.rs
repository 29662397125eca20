//! Several servers on one database. Each follows two things, in two tasks
//! so that a slow full reload never holds back an ended session:
//!
//! * the **event feed** (`runtime_event`): ended sessions (one token, or
//!   every session of a user) are forgotten one by one, and added or
//!   changed users are read again one by one. A server that missed events
//!   (they are purged after [`EVENT_KEEP`]), or one of a kind it does not
//!   know, drops its whole session cache and has the policy task reload.
//! * the **policy counter**: any other change of users, roles, services or
//!   permissions reloads the snapshot.
//!
//! A database that is down leaves the last snapshot in force for
//! permission checks. Cached sessions are trusted only while the feed is
//! being read: past [`FEED_STALE_AFTER_MS`] without a successful read, every
//! token goes to the database (and answers 503 while it is down), so an
//! outage never keeps alive a token another server ended.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use store::events::EventKind;
use store::{now_millis, StoreError};

use crate::Runtime;

/// How long events are kept for servers that fall behind.
pub const EVENT_KEEP: Duration = Duration::from_secs(3600);

/// How long cached sessions are trusted after the last successful read of
/// the event feed.
pub const FEED_STALE_AFTER_MS: i64 = 1_000;

/// What one read of the feed did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedRead {
    pub tokens_forgotten: usize,
    pub users_forgotten: usize,
    pub users_read: usize,
    /// Events were missing: the whole cache was dropped and reloaded.
    pub gap: bool,
}

impl Runtime {
    pub(crate) fn feed_is_stale(&self) -> bool {
        self.feed_followed.load(Ordering::SeqCst)
            && now_millis().saturating_sub(self.feed_read_at.load(Ordering::SeqCst))
                > FEED_STALE_AFTER_MS
    }

    /// Reads the event feed from where this server left off and acts on it.
    pub async fn follow_events(&self) -> Result<FeedRead, StoreError> {
        let read_at = now_millis();
        let latest = store::counters::read(&self.pool).await?.sessions;
        let seen = self.events_seen.load(Ordering::SeqCst);
        let mut done = FeedRead::default();
        let mut users = Vec::new();
        if latest != seen {
            let events = match store::events::between(&self.pool, seen, latest).await {
                Ok(events) => events,
                // written by a newer server: what it asks cannot be done
                // one by one here, so everything is dropped instead
                Err(StoreError::UnknownEvent(kind)) => {
                    tracing::warn!(%kind, "a runtime event of an unknown kind; dropping every cached session and reloading");
                    Vec::new()
                }
                Err(error) => return Err(error),
            };
            let numbers: HashSet<i64> = events.iter().map(|event| event.seq).collect();
            let complete = seen >= 0
                && latest > seen
                && i64::try_from(numbers.len()).is_ok_and(|count| count == latest - seen);
            if complete {
                for event in events {
                    match event.kind {
                        EventKind::Token => {
                            self.sessions.forget_token(&event.subject);
                            done.tokens_forgotten += 1;
                        }
                        EventKind::UserSessions => {
                            self.sessions.forget_user(&event.subject);
                            done.users_forgotten += 1;
                        }
                        EventKind::User => users.push(event.subject),
                    }
                }
            } else {
                // missed events: every cached session goes, and the policy
                // task reloads everything (the feed does not wait for it)
                self.sessions.forget_all();
                self.reload_everything.store(true, Ordering::SeqCst);
                self.policy_seen.store(-1, Ordering::SeqCst);
                done.gap = true;
            }
            self.events_seen.store(latest, Ordering::SeqCst);
        }
        done.users_read = self.read_users_when_free(users).await?;
        self.feed_read_at.fetch_max(read_at, Ordering::SeqCst);
        Ok(done)
    }

    /// Reads these users (and any left pending) again, unless a reload
    /// holds the lock: then they wait for the next tick, and the feed goes
    /// on. How many were read.
    async fn read_users_when_free(&self, users: Vec<String>) -> Result<usize, StoreError> {
        let mut pending = {
            let mut pending = self
                .pending_users
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.extend(users);
            pending.sort();
            pending.dedup();
            std::mem::take(&mut *pending)
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let Ok(_free) = self.reload_lock.try_lock() else {
            self.keep_pending(&mut pending);
            return Ok(0);
        };
        match self.users_changed_locked(&pending).await {
            Ok(()) => Ok(pending.len()),
            Err(error) => {
                self.keep_pending(&mut pending);
                Err(error)
            }
        }
    }

    fn keep_pending(&self, users: &mut Vec<String>) {
        self.pending_users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .append(users);
    }

    /// Brings the applications another server changed up to date (each
    /// reloaded alone: a change in one never reloads another); true if
    /// any was.
    pub async fn follow_policy(&self) -> Result<bool, StoreError> {
        let versions = store::counters::read(&self.pool).await?;
        if versions.policy == self.policy_seen.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let _one_at_a_time = self.reload_lock.lock().await;
        if self.reload_everything.swap(false, Ordering::SeqCst) {
            // missed events may have changed users of any application
            if let Err(error) = self.reload_locked().await {
                self.reload_everything.store(true, Ordering::SeqCst);
                return Err(error);
            }
            return Ok(true);
        }
        Ok(self.sync_apps_locked().await? > 0)
    }

    /// Follows the feed and the policy every `every`, in two tasks, for as
    /// long as the process runs.
    pub fn spawn_refresher(self: Arc<Self>, every: Duration) {
        self.feed_read_at.store(now_millis(), Ordering::SeqCst);
        self.feed_followed.store(true, Ordering::SeqCst);
        let feed = self.clone();
        spawn_loop("the event feed", every, move || {
            let runtime = feed.clone();
            async move { runtime.follow_events().await.map(|_| ()) }
        });
        spawn_loop("the policy counter", every, move || {
            let runtime = self.clone();
            async move { runtime.follow_policy().await.map(|_| ()) }
        });
    }
}

/// Runs `step` every `every`; logs when it starts and stops failing.
fn spawn_loop<F, Fut>(what: &'static str, every: Duration, mut step: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticker.tick().await;
            match step().await {
                Ok(()) => {
                    if failing {
                        tracing::info!("database reachable again; following {what}");
                    }
                    failing = false;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot read {what}; answering from the last snapshot");
                    }
                    failing = true;
                }
            }
        }
    });
}
