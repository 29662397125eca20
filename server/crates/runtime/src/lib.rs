//! The runtime: what answers every call without touching the database on
//! the hot path. The permission [`snapshot`] (swapped atomically on change),
//! the [`sessions`] cache, and the [`sync`] with other servers sharing the
//! database. It learns about changes from one place, [`Runtime::apply`],
//! which the change layer calls after every commit, and from the counters
//! the sync polls.

pub mod secret;
pub mod sessions;
pub mod snapshot;
pub mod sync;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use policy::cells::SubjectKind;
use store::permissions::CellIds;
use store::{now_millis, Pool, StoreError};

use crate::secret::TokenHash;
use crate::sessions::{Cached, SessionCache};
use crate::snapshot::{subject_of, Snapshot};

/// What a committed change tells the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The policy counter the change moved to, if it changed users, roles,
    /// services or permissions.
    pub policy_version: Option<i64>,
    /// The one cell it changed, when that is all it changed: the snapshot
    /// is patched in place of a full reload.
    pub cell: Option<ChangedCell>,
    /// Users whose sessions it ended.
    pub ended_users: Vec<String>,
    /// Sessions it ended, by token hash.
    pub ended_tokens: Vec<String>,
    /// Users it added or changed (name, status, roles) without changing
    /// anything else of the policy: read again one by one, no full reload.
    pub changed_users: Vec<String>,
}

/// One permission cell: by the ids the database keys on, and by the names
/// the snapshot files it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedCell {
    pub ids: CellIds,
    pub service: String,
    pub kind: SubjectKind,
    pub subject: String,
    /// A method name, or `*` for All Methods.
    pub method: String,
}

pub struct Runtime {
    pool: Pool,
    snapshot: ArcSwap<Snapshot>,
    sessions: SessionCache,
    /// Reloads run one at a time, so the last one to finish saw every commit.
    reload_lock: tokio::sync::Mutex<()>,
    /// The database's counters as this process last acted on them: the
    /// policy, and the last runtime event (see [`sync`]).
    policy_seen: AtomicI64,
    events_seen: AtomicI64,
    /// When the event feed was last read in full (milliseconds since the
    /// epoch), and whether anything reads it: a cache whose feed has not
    /// been read for [`sync::FEED_STALE_AFTER_MS`] trusts no cached
    /// session, so an outage cannot keep a token alive that another server
    /// ended.
    feed_read_at: AtomicI64,
    feed_followed: AtomicBool,
    /// Full snapshot loads so far (start-up included).
    full_reloads: AtomicU64,
    /// Users the feed asked to read again while a reload held the lock:
    /// read on a later tick, so ended sessions never wait behind a reload.
    pending_users: std::sync::Mutex<Vec<String>>,
}

impl Runtime {
    /// A runtime over `pool` with its first snapshot loaded.
    pub async fn open(pool: Pool) -> Result<Arc<Runtime>, StoreError> {
        let runtime = Arc::new(Runtime {
            pool,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            sessions: SessionCache::default(),
            reload_lock: tokio::sync::Mutex::new(()),
            policy_seen: AtomicI64::new(-1),
            events_seen: AtomicI64::new(-1),
            feed_read_at: AtomicI64::new(now_millis()),
            feed_followed: AtomicBool::new(false),
            full_reloads: AtomicU64::new(0),
            pending_users: std::sync::Mutex::new(Vec::new()),
        });
        runtime.reload().await?;
        Ok(runtime)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Reads the assignments again and swaps them in at once. On error
    /// (a corrupt cell, say) the last snapshot stays in force.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        self.reload_locked().await
    }

    async fn reload_locked(&self) -> Result<(), StoreError> {
        // the counter is read first: a change committed meanwhile makes the
        // next poll reload again, never the other way round
        let versions = store::counters::read(&self.pool).await?;
        let snapshot = snapshot::load(&self.pool).await?;
        self.snapshot.store(Arc::new(snapshot));
        self.full_reloads.fetch_add(1, Ordering::SeqCst);
        self.policy_seen.store(versions.policy, Ordering::SeqCst);
        if self.events_seen.load(Ordering::SeqCst) < 0 {
            self.events_seen.store(versions.sessions, Ordering::SeqCst);
        }
        Ok(())
    }

    /// How many full snapshot loads this runtime has made (start-up
    /// included): changes that need none must not add to it.
    pub fn full_reloads(&self) -> u64 {
        self.full_reloads.load(Ordering::SeqCst)
    }

    /// How many sessions are cached right now.
    pub fn cached_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Reads these users again and patches them into the snapshot (a user
    /// no longer there is dropped). Under the reload lock, so a full reload
    /// and a patch never overwrite each other with older data: whichever
    /// runs last read the database last.
    pub async fn users_changed(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _one_at_a_time = self.reload_lock.lock().await;
        self.users_changed_locked(ids).await
    }

    pub(crate) async fn users_changed_locked(&self, ids: &[String]) -> Result<(), StoreError> {
        let before = store::counters::read(&self.pool).await?.policy;
        let users = snapshot::load_users(&self.pool, ids).await?;
        let after = store::counters::read(&self.pool).await?.policy;
        let seen = self.policy_seen.load(Ordering::SeqCst);
        if before != seen || after != seen {
            // the policy moved on (a user deleted and the email registered
            // again, a role renamed): these users must not meet the older
            // cells of this snapshot, so everything is read again
            return self.reload_locked().await;
        }
        let patched = self.snapshot.load_full().with_users(users);
        self.snapshot.store(Arc::new(patched));
        Ok(())
    }

    /// Holds off reloads and user patches while the guard lives (they wait
    /// for it); ended sessions still take effect. For maintenance and for
    /// tests that prove the latter.
    pub async fn hold_reloads(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reload_lock.lock().await
    }

    /// The one door through which committed changes reach the runtime:
    /// ended sessions are forgotten first, then the snapshot is patched
    /// (one cell) or reloaded.
    pub async fn apply(&self, applied: &Applied) -> Result<(), StoreError> {
        for user_id in &applied.ended_users {
            self.sessions.forget_user(user_id);
        }
        for token_hash in &applied.ended_tokens {
            self.sessions.forget_token(token_hash);
        }
        if applied.policy_version.is_none() {
            self.users_changed(&applied.changed_users).await?;
        }
        let Some(version) = applied.policy_version else {
            return Ok(());
        };
        match &applied.cell {
            Some(cell) => self.cell_changed(version, cell).await,
            None => self.reload().await,
        }
    }

    /// After the commit of a change to one permission cell, counted as
    /// `version`: updates this snapshot in place of a full reload. The cell
    /// is read back by ids under the lock, so of two racing changes the
    /// last to apply shows what the database holds; if another change came
    /// in between, or the service or subject is no longer called what the
    /// snapshot calls it (a rename committed meanwhile), this falls back to
    /// a full reload.
    async fn cell_changed(&self, version: i64, cell: &ChangedCell) -> Result<(), StoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let seen = self.policy_seen.load(Ordering::SeqCst);
        if seen >= version {
            // a reload since the commit has seen this change already
            return Ok(());
        }
        if seen != version - 1 {
            return self.reload_locked().await;
        }
        let now =
            store::permissions::read_by_ids(&self.pool, cell.kind, &cell.ids, &cell.method).await?;
        let Some(now) =
            now.filter(|now| now.service == cell.service && now.subject == cell.subject)
        else {
            return self.reload_locked().await;
        };
        let current = self.snapshot.load_full();
        let subject = subject_of(cell.kind, &cell.subject);
        let Some(patched) = current.with_cell(&cell.service, &subject, &cell.method, now.effect)
        else {
            return self.reload_locked().await;
        };
        self.snapshot.store(Arc::new(patched));
        self.policy_seen.store(version, Ordering::SeqCst);
        Ok(())
    }

    /// The user behind a token, if its session is live; renews its activity.
    /// A session idle for `timeout` or longer is over, and deleted.
    pub async fn authenticate(
        &self,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<String>, StoreError> {
        self.authenticate_at(token, timeout, now_millis()).await
    }

    /// [`Runtime::authenticate`] as of `now` (milliseconds since the epoch),
    /// so the inactivity boundary can be tested to the millisecond: a
    /// session idle for exactly `timeout` is over.
    pub async fn authenticate_at(
        &self,
        token: &str,
        timeout: Duration,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let token_hash = TokenHash::of(token);
        let token_hash = token_hash.as_str();
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let cached = if self.feed_is_stale() {
            // another server may have ended any cached session meanwhile:
            // the database decides until the feed is read again
            Cached::Missing
        } else {
            self.sessions.lookup(token_hash, now, timeout_ms)
        };
        match cached {
            Cached::Live { user_id, persist } => {
                if persist && !store::sessions::touch(&self.pool, token_hash, now).await? {
                    // ended elsewhere (another server's logout)
                    self.sessions.forget_token(token_hash);
                    return Ok(None);
                }
                Ok(Some(user_id))
            }
            // expired by this cache's clock: the database may know of
            // activity on another server since, so it decides
            Cached::Expired | Cached::Missing => {
                let generation = self.sessions.generation();
                let Some(session) = store::sessions::find(&self.pool, token_hash).await? else {
                    return Ok(None);
                };
                if now.saturating_sub(session.last_seen_at) >= timeout_ms {
                    let cutoff = now.saturating_sub(timeout_ms);
                    store::sessions::delete_expired(&self.pool, token_hash, cutoff).await?;
                    return Ok(None);
                }
                if !store::sessions::touch(&self.pool, token_hash, now).await? {
                    // ended between the read and now
                    return Ok(None);
                }
                if !self.snapshot().users.contains_key(&session.app_user_id) {
                    // a user added on another server that the feed has not
                    // brought here yet
                    self.users_changed(std::slice::from_ref(&session.app_user_id))
                        .await?;
                }
                if !self.feed_is_stale() {
                    self.sessions.insert_unless_forgotten(
                        token_hash,
                        &session.app_user_id,
                        now,
                        generation,
                    );
                }
                Ok(Some(session.app_user_id))
            }
        }
    }
}
