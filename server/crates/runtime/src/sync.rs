//! Several servers on one database. Each follows two things, in two tasks
//! so that a slow full reload never holds back an ended session:
//!
//! * the **event feed** (`runtime_event`): ended sessions (one token, or
//!   every session of a user) are forgotten one by one, and added or
//!   changed users are read again one by one. A server that missed events
//!   (they are purged after [`EVENT_KEEP`]), or one of a kind it does not
//!   know, drops its whole session cache and has the policy task reload.
//!   A change of one permission cell is patched into the snapshot the
//!   same way (the cell is read again by its ids), without a reload.
//! * the **policy counter**: any other change of users, roles, services or
//!   permissions reloads the application's snapshot. It lets the feed go
//!   first, so a cell the feed patches is not reloaded as well.
//!
//! Both read at every tick, and at once when PostgreSQL signals a commit
//! (`LISTEN`/`NOTIFY`, see [`store::notify`]): a signal lost with a
//! dropped connection delays a change to the next tick, never loses it.
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
use store::notify::{Heard, Listener};
use store::{now_millis, StoreError};

use crate::{ChangedCell, Runtime};

/// A changed cell from the feed: its application, the count it made there,
/// and the cell.
pub(crate) type PendingCell = (String, i64, ChangedCell);

/// How long events are kept for servers that fall behind.
pub const EVENT_KEEP: Duration = Duration::from_secs(3600);

/// How long cached sessions are trusted after the last successful read of
/// the event feed.
pub const FEED_STALE_AFTER_MS: i64 = 1_000;

/// How long the policy task lets the feed go first, at most, before it
/// reloads what moved.
pub const FEED_FIRST_MAX_MS: i64 = 250;

/// What one read of the feed did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedRead {
    pub tokens_forgotten: usize,
    pub users_forgotten: usize,
    pub users_read: usize,
    /// Changed cells patched into their snapshots (or seen there already).
    pub cells_patched: usize,
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
        let mut cells = Vec::new();
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
                        // unreadable: the policy task reloads instead
                        EventKind::Cell => {
                            cells.extend(ChangedCell::from_event_text(&event.subject))
                        }
                    }
                }
                done.cells_patched = self.patch_cells_when_free(cells).await;
            } else {
                // missed events: every cached session goes, and the policy
                // task reloads everything (the feed does not wait for it)
                self.sessions.forget_all();
                self.reload_everything.store(true, Ordering::SeqCst);
                self.policy_seen.store(-1, Ordering::SeqCst);
                done.gap = true;
            }
            self.events_seen.store(latest, Ordering::SeqCst);
            // the policy task waited for these (see `feed_goes_first`)
            self.policy_wake.notify_one();
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

    /// Patches changed cells into their snapshots, in the order they were
    /// committed, unless the policy task holds the lock: then they wait for
    /// it, and it patches them before it looks for applications to reload
    /// (the feed never waits behind a reload). How many the snapshots now
    /// hold.
    async fn patch_cells_when_free(&self, cells: Vec<PendingCell>) -> usize {
        let Ok(_free) = self.reload_lock.try_lock() else {
            self.pending_cells().extend(cells);
            return 0;
        };
        self.patch_pending_cells_locked(cells).await
    }

    /// Patches the cells left pending, then `more`; the reload lock is held.
    /// A cell that cannot be patched (see [`Runtime::patch_cell_locked`])
    /// is left to the policy task, which finds its application's count
    /// moved and reloads it.
    pub(crate) async fn patch_pending_cells_locked(&self, more: Vec<PendingCell>) -> usize {
        let mut cells = std::mem::take(&mut *self.pending_cells());
        cells.extend(more);
        let mut patched = 0;
        for (app, version, cell) in &cells {
            match self.patch_cell_locked(app, *version, cell).await {
                Ok(true) => patched += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(%error, "cannot read a changed cell; its application is reloaded instead");
                }
            }
        }
        patched
    }

    fn pending_cells(&self) -> std::sync::MutexGuard<'_, Vec<PendingCell>> {
        self.pending_cells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        if self.feed_goes_first(versions.sessions) {
            // the feed wakes this task once it has read them
            return Ok(false);
        }
        let _one_at_a_time = self.reload_lock.lock().await;
        // cells the feed could not patch while this task held the lock
        self.patch_pending_cells_locked(Vec::new()).await;
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

    /// Whether the feed has events up to `latest` it has not read yet
    /// while it is being read: they may be cells it patches, which the
    /// policy task would otherwise reload. A feed that is not read (or not
    /// lately) holds nothing back, and under a steady stream of events
    /// (logins and logouts elsewhere) the feed is always a little behind:
    /// the policy task waits for it [`FEED_FIRST_MAX_MS`] at most. The
    /// wait's clock runs until the feed is not behind or the task has
    /// caught up (`mark_policy_seen`), not per question: both of a run's
    /// questions share it, so a task asking again never waits anew.
    pub(crate) fn feed_goes_first(&self, latest: i64) -> bool {
        let behind = self.feed_followed.load(Ordering::SeqCst)
            && !self.feed_is_stale()
            && latest > self.events_seen.load(Ordering::SeqCst);
        if !behind {
            self.feed_waited_since.store(-1, Ordering::SeqCst);
            return false;
        }
        let now = now_millis();
        // only the policy task comes here: no other writer
        let since = match self.feed_waited_since.compare_exchange(
            -1,
            now,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => now,
            Err(since) => since,
        };
        now.saturating_sub(since) < FEED_FIRST_MAX_MS
    }

    /// Follows the feed and the policy every `every`, in two tasks, and at
    /// once on PostgreSQL's signal of a commit, for as long as the process
    /// runs.
    pub fn spawn_refresher(self: Arc<Self>, every: Duration) {
        self.feed_read_at.store(now_millis(), Ordering::SeqCst);
        self.feed_followed.store(true, Ordering::SeqCst);
        spawn_loop(
            "the event feed",
            every,
            self.clone(),
            |runtime| &runtime.feed_wake,
            |runtime| async move { runtime.follow_events().await.map(|_| ()) },
        );
        spawn_loop(
            "the policy counter",
            every,
            self.clone(),
            |runtime| &runtime.policy_wake,
            |runtime| async move { runtime.follow_policy().await.map(|_| ()) },
        );
        self.spawn_listener(every);
    }

    /// Wakes both tasks whenever PostgreSQL signals a commit (and when the
    /// signals' connection was lost, as some may be gone). Without the
    /// signals (SQLite, or while the connection cannot be opened) the
    /// ticks alone follow.
    fn spawn_listener(self: Arc<Self>, every: Duration) {
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let error = match Listener::connect(&self.pool).await {
                    Ok(None) => return,
                    Ok(Some(mut listener)) => loop {
                        match listener.next().await {
                            Ok(Heard::Change | Heard::Lost) => {
                                failing = false;
                                self.feed_wake.notify_one();
                                self.policy_wake.notify_one();
                            }
                            Err(error) => break error,
                        }
                    },
                    Err(error) => error,
                };
                if !failing {
                    tracing::warn!(%error, "cannot listen for other servers' changes; following them at every tick");
                }
                failing = true;
                // the ticks go on meanwhile; a second is soon enough to try again
                tokio::time::sleep(every.max(Duration::from_secs(1))).await;
            }
        });
    }
}

/// Runs `step` every `every`, and when `wake` (a signal of `runtime`) is
/// notified; logs when it starts and stops failing.
fn spawn_loop<F, Fut>(
    what: &'static str,
    every: Duration,
    runtime: Arc<Runtime>,
    wake: fn(&Runtime) -> &tokio::sync::Notify,
    step: F,
) where
    F: Fn(Arc<Runtime>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = wake(&runtime).notified() => {}
            }
            match step(runtime.clone()).await {
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
