//! The runtime: what answers every call without touching the database on
//! the hot path. The permission [`snapshot`] (swapped atomically on change),
//! the [`sessions`] cache, and the [`sync`] with other servers sharing the
//! database. It learns about changes from one place, [`Runtime::apply`],
//! which the change layer calls after every commit, and from the counters
//! the sync polls.

pub mod secret;
pub mod sessions;
pub mod signing;
pub mod snapshot;
pub mod sync;
pub mod upstreams;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use policy::cells::SubjectKind;
use store::permissions::CellIds;
use store::{now_millis, Pool, StoreError};

use crate::secret::TokenHash;
use crate::sessions::{Cached, SessionCache};
use crate::snapshot::{subject_of, Snapshot, SnapshotUser};

/// What a committed change tells the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The application whose users, roles, services, permissions, keys or
    /// settings it changed (or that it created or deleted), and the
    /// application's policy count it moved to.
    pub policy: Option<(String, i64)>,
    /// The one cell it changed, when that is all it changed: the snapshot
    /// is patched in place of a reload.
    pub cell: Option<ChangedCell>,
    /// Users whose sessions it ended.
    pub ended_users: Vec<String>,
    /// Sessions it ended, by token hash.
    pub ended_tokens: Vec<String>,
    /// Users it added or changed (name, status, roles) without changing
    /// anything else of the policy: read again one by one, no reload.
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

/// A one-cell change as the event feed carries it to the other servers:
/// the application's count it made, and the names the snapshot files the
/// cell under at that count (a rename after it must not be patched into
/// an older snapshot under the new name).
#[derive(serde::Serialize, serde::Deserialize)]
struct CellEvent<'a> {
    // borrowed when they can be, owned when the text escapes something (an
    // email may hold a quote)
    #[serde(borrow)]
    app: Cow<'a, str>,
    version: i64,
    kind: SubjectKind,
    #[serde(borrow)]
    service_id: Cow<'a, str>,
    #[serde(borrow)]
    subject_id: Cow<'a, str>,
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
}

impl ChangedCell {
    /// The feed's text for this cell, changed as `version` of `app`.
    pub fn event_text(&self, app: &str, version: i64) -> String {
        let event = CellEvent {
            app: app.into(),
            version,
            kind: self.kind,
            service_id: self.ids.service_id.as_str().into(),
            subject_id: self.ids.subject_id.as_str().into(),
            service: self.service.as_str().into(),
            subject: self.subject.as_str().into(),
            method: self.method.as_str().into(),
        };
        serde_json::to_string(&event).unwrap_or_default()
    }

    /// The application, its count and the cell from a feed text; `None`
    /// for a text this server cannot read (it then reloads instead).
    pub fn from_event_text(text: &str) -> Option<(String, i64, ChangedCell)> {
        let event: CellEvent<'_> = serde_json::from_str(text).ok()?;
        let cell = ChangedCell {
            ids: CellIds {
                service_id: event.service_id.into_owned(),
                subject_id: event.subject_id.into_owned(),
            },
            service: event.service.into_owned(),
            kind: event.kind,
            subject: event.subject.into_owned(),
            method: event.method.into_owned(),
        };
        Some((event.app.into_owned(), event.version, cell))
    }
}

/// The snapshots of every application, by id in uppercase (ids compare
/// without case, as UUIDs do).
type Apps = HashMap<String, Arc<Snapshot>>;

fn app_key(application_id: &str) -> String {
    application_id.to_ascii_uppercase()
}

/// A live session: its user, and who issued it if it is an impersonation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: String,
    pub impersonated_by: Option<Arc<str>>,
    /// The session was read from or written to the database: time passed,
    /// and its user may have been read into a newer snapshot meanwhile.
    pub waited: bool,
}

pub struct Runtime {
    pool: Pool,
    apps: ArcSwap<Apps>,
    sessions: SessionCache,
    /// Reloads run one at a time, so the last one to finish saw every commit.
    reload_lock: tokio::sync::Mutex<()>,
    /// The database's counters as this process last acted on them: the
    /// policy (every application's snapshot was checked against its own
    /// count after the global one reached this), and the last runtime
    /// event (see [`sync`]).
    policy_seen: AtomicI64,
    events_seen: AtomicI64,
    /// Since when the policy task has waited for the feed to catch up
    /// (milliseconds since the epoch, -1: not waiting); see
    /// `sync::feed_goes_first`.
    feed_waited_since: AtomicI64,
    /// Events were missed: the next policy tick reloads every application.
    reload_everything: AtomicBool,
    /// When the event feed was last read in full (milliseconds since the
    /// epoch), and whether anything reads it: a cache whose feed has not
    /// been read for [`sync::FEED_STALE_AFTER_MS`] trusts no cached
    /// session, so an outage cannot keep a token alive that another server
    /// ended.
    feed_read_at: AtomicI64,
    feed_followed: AtomicBool,
    /// Application snapshot loads so far (start-up included).
    full_reloads: AtomicU64,
    /// Users the feed asked to read again while a reload held the lock:
    /// read on a later tick, so ended sessions never wait behind a reload.
    pending_users: std::sync::Mutex<Vec<String>>,
    /// Changed cells the feed read while a reload held the lock: patched
    /// by the policy task before it decides what to reload.
    pending_cells: std::sync::Mutex<Vec<sync::PendingCell>>,
    /// How each HTTP upstream method has been answering on this server.
    pub upstream_stats: upstreams::CallStats,
    /// Woken when a time-limited cell ended in a snapshot: the expirer
    /// then deletes its row (see `usecases::maintenance`).
    ended_cells: tokio::sync::Notify,
    /// Wake the event feed's and the policy counter's tasks before their
    /// next tick: a signal from the database, or (for the policy task) a
    /// read of the feed that found events.
    feed_wake: tokio::sync::Notify,
    policy_wake: tokio::sync::Notify,
}

impl Runtime {
    /// A runtime over `pool` with the snapshots of every application loaded.
    pub async fn open(pool: Pool) -> Result<Arc<Runtime>, StoreError> {
        let runtime = Arc::new(Runtime {
            pool,
            apps: ArcSwap::from_pointee(Apps::new()),
            sessions: SessionCache::default(),
            reload_lock: tokio::sync::Mutex::new(()),
            policy_seen: AtomicI64::new(-1),
            events_seen: AtomicI64::new(-1),
            feed_waited_since: AtomicI64::new(-1),
            reload_everything: AtomicBool::new(false),
            feed_read_at: AtomicI64::new(now_millis()),
            feed_followed: AtomicBool::new(false),
            full_reloads: AtomicU64::new(0),
            pending_users: std::sync::Mutex::new(Vec::new()),
            pending_cells: std::sync::Mutex::new(Vec::new()),
            upstream_stats: upstreams::CallStats::default(),
            ended_cells: tokio::sync::Notify::new(),
            feed_wake: tokio::sync::Notify::new(),
            policy_wake: tokio::sync::Notify::new(),
        });
        runtime.reload().await?;
        Ok(runtime)
    }

    /// The snapshot of one application; `None` if there is no such
    /// application (as far as this server knows). A time-limited cell
    /// whose end has come is Inherit in it from that millisecond on.
    pub fn snapshot(&self, application_id: &str) -> Option<Arc<Snapshot>> {
        let apps = self.apps.load();
        // ids are stored in uppercase: the hot path finds them as given,
        // without building a key
        let snapshot = match apps.get(application_id) {
            Some(snapshot) => snapshot.clone(),
            None => apps.get(&app_key(application_id))?.clone(),
        };
        // one comparison when no cell of the application has an end
        if snapshot.next_expiry != i64::MAX {
            let now = now_millis();
            if snapshot.next_expiry <= now {
                return Some(self.expire(&snapshot, now));
            }
        }
        Some(snapshot)
    }

    /// Swaps in `snapshot` with its ended cells as Inherit, unless another
    /// snapshot of its application took its place meanwhile (that one is
    /// expired by its own next read), and wakes the expirer.
    fn expire(&self, snapshot: &Arc<Snapshot>, now: i64) -> Arc<Snapshot> {
        let expired = Arc::new(snapshot.expired(now));
        let key = app_key(&snapshot.application_id);
        self.apps.rcu(|apps| {
            let mut apps = Apps::clone(apps);
            if apps
                .get(&key)
                .is_some_and(|current| Arc::ptr_eq(current, snapshot))
            {
                apps.insert(key.clone(), expired.clone());
            }
            apps
        });
        self.ended_cells.notify_one();
        expired
    }

    /// Waits until a snapshot has seen a time-limited cell end.
    pub async fn cells_ended(&self) {
        self.ended_cells.notified().await
    }

    /// Every application's snapshot, the default first, then by name.
    pub fn applications(&self) -> Vec<Arc<Snapshot>> {
        let ids: Vec<String> = self.apps.load().keys().cloned().collect();
        let mut apps: Vec<Arc<Snapshot>> = ids.iter().filter_map(|id| self.snapshot(id)).collect();
        apps.sort_by(|a, b| {
            b.is_default
                .cmp(&a.is_default)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        apps
    }

    /// Reads every application again and swaps them in at once. On error
    /// (a corrupt cell, say) the last snapshots stay in force.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        self.reload_locked().await
    }

    /// Every application is loaded on its own: one that cannot be read
    /// (a corrupt cell, say) keeps its last snapshot (or has none, and
    /// answers as unknown) while the others load; the first such error is
    /// returned once all were tried, and the counters are not marked seen,
    /// so the policy task tries again.
    pub(crate) async fn reload_locked(&self) -> Result<(), StoreError> {
        // the counters are read first: a change committed meanwhile makes
        // the next poll reload again, never the other way round
        let versions = store::counters::read(&self.pool).await?;
        let current = self.apps.load_full();
        let mut apps = Apps::new();
        let mut failed = None;
        for (id, version) in store::counters::app_versions(&self.pool).await? {
            match snapshot::load(&self.pool, &id, version).await {
                Ok(Some(snapshot)) => {
                    self.full_reloads.fetch_add(1, Ordering::SeqCst);
                    apps.insert(app_key(&id), Arc::new(snapshot));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(application = %id, %error, "cannot load the application; its last snapshot stays in force");
                    if let Some(last) = current.get(&app_key(&id)) {
                        apps.insert(app_key(&id), last.clone());
                    }
                    failed.get_or_insert(error);
                }
            }
        }
        self.forget_sessions_of_gone(&apps);
        self.apps.store(Arc::new(apps));
        if self.events_seen.load(Ordering::SeqCst) < 0 {
            self.events_seen.store(versions.sessions, Ordering::SeqCst);
        }
        if let Some(error) = failed {
            return Err(error);
        }
        self.mark_policy_seen(versions.policy);
        Ok(())
    }

    /// The policy counter this server has caught up with, unless the feed
    /// found a gap meanwhile: then the next tick must reload everything,
    /// whatever the counter says.
    fn mark_policy_seen(&self, policy: i64) {
        if !self.reload_everything.load(Ordering::SeqCst) {
            self.policy_seen.store(policy, Ordering::SeqCst);
        }
        // caught up: the next change's wait for the feed starts afresh
        self.feed_waited_since.store(-1, Ordering::SeqCst);
    }

    /// Reads one application again (and forgets it, and its sessions, if
    /// it no longer exists). Other applications' snapshots stay as they are.
    pub async fn reload_app(&self, application_id: &str) -> Result<(), StoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        self.reload_app_locked(application_id).await
    }

    pub(crate) async fn reload_app_locked(&self, application_id: &str) -> Result<(), StoreError> {
        let loaded = match store::counters::app_version(&self.pool, application_id).await? {
            Some(version) => snapshot::load(&self.pool, application_id, version).await?,
            None => None,
        };
        let mut apps = Apps::clone(&self.apps.load());
        match loaded {
            Some(snapshot) => {
                self.full_reloads.fetch_add(1, Ordering::SeqCst);
                apps.insert(app_key(application_id), Arc::new(snapshot));
            }
            None => {
                apps.remove(&app_key(application_id));
                self.forget_sessions_of_gone(&apps);
            }
        }
        self.apps.store(Arc::new(apps));
        Ok(())
    }

    /// Sessions of applications that are not in `apps` open nothing more.
    fn forget_sessions_of_gone(&self, apps: &Apps) {
        for gone in self.apps.load().keys().filter(|id| !apps.contains_key(*id)) {
            self.sessions.forget_app(gone);
        }
    }

    /// Brings every application up to its count in the database: reloads
    /// those that moved, loads new ones, drops deleted ones. What the
    /// policy task does when the global counter moved; nothing (0) while
    /// the feed has events to read that were committed up to the counts
    /// read here, even since the task took the lock: they may be cells
    /// it patches (see `feed_goes_first`), and it wakes the task again.
    pub(crate) async fn sync_apps_locked(&self) -> Result<usize, StoreError> {
        let versions = store::counters::read(&self.pool).await?;
        let stored = store::counters::app_versions(&self.pool).await?;
        // read after the counts: an event of a change they hold is seen
        if self.feed_goes_first(store::counters::read(&self.pool).await?.sessions) {
            return Ok(0);
        }
        // the cells of the events it read since this task took the lock:
        // left to this task, which patches them before it compares
        self.patch_pending_cells_locked(Vec::new()).await;
        let current = self.apps.load_full();
        let mut reloaded = 0;
        // one application that cannot be read holds back no other
        let mut failed = None;
        for (id, version) in &stored {
            let seen = current.get(&app_key(id)).map(|snapshot| snapshot.version);
            if seen != Some(*version) {
                match self.reload_app_locked(id).await {
                    Ok(()) => reloaded += 1,
                    Err(error) => {
                        tracing::error!(application = %id, %error, "cannot reload the application; its last snapshot stays in force");
                        failed.get_or_insert(error);
                    }
                }
            }
        }
        let gone: Vec<String> = current
            .values()
            .filter(|snapshot| {
                !stored
                    .iter()
                    .any(|(id, _)| id.eq_ignore_ascii_case(&snapshot.application_id))
            })
            .map(|snapshot| snapshot.application_id.clone())
            .collect();
        for id in gone {
            self.reload_app_locked(&id).await?;
            reloaded += 1;
        }
        if let Some(error) = failed {
            return Err(error);
        }
        self.mark_policy_seen(versions.policy);
        Ok(reloaded)
    }

    /// How many application snapshots this runtime has loaded (start-up
    /// included): changes that need none must not add to it.
    pub fn full_reloads(&self) -> u64 {
        self.full_reloads.load(Ordering::SeqCst)
    }

    /// How many sessions are cached right now.
    pub fn cached_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Reads these users again and patches them into their applications'
    /// snapshots (a user no longer there is dropped). Under the reload
    /// lock, so a reload and a patch never overwrite each other with older
    /// data: whichever runs last read the database last.
    pub async fn users_changed(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _one_at_a_time = self.reload_lock.lock().await;
        self.users_changed_locked(ids).await
    }

    pub(crate) async fn users_changed_locked(&self, ids: &[String]) -> Result<(), StoreError> {
        let before = store::counters::app_versions(&self.pool).await?;
        let users = snapshot::load_users(&self.pool, ids).await?;
        let after = store::counters::app_versions(&self.pool).await?;
        // per application: the users found in it, and (for every
        // application) the users that are gone
        let mut found: HashMap<String, HashMap<String, Option<Arc<SnapshotUser>>>> = HashMap::new();
        let mut gone = Vec::new();
        for (id, user) in users {
            match user {
                Some(user) => {
                    found
                        .entry(app_key(&user.application_id))
                        .or_default()
                        .insert(id, Some(user));
                }
                None => gone.push(id),
            }
        }
        let current = self.apps.load_full();
        let mut apps = Apps::clone(&current);
        let mut reload = Vec::new();
        for (key, snapshot) in current.iter() {
            let mut changed = found.remove(key).unwrap_or_default();
            for id in &gone {
                if snapshot.users.contains_key(id) {
                    changed.insert(id.clone(), None);
                }
            }
            if changed.is_empty() {
                continue;
            }
            let count = |versions: &[(String, i64)]| {
                versions
                    .iter()
                    .find(|(id, _)| app_key(id) == *key)
                    .map(|(_, version)| *version)
            };
            let seen = Some(snapshot.version);
            if count(&before) != seen || count(&after) != seen {
                // the application's policy moved on (a user deleted and the
                // email registered again, a role renamed): these users must
                // not meet the older cells of this snapshot
                reload.push(snapshot.application_id.clone());
                continue;
            }
            apps.insert(key.clone(), Arc::new(snapshot.with_users(changed)));
        }
        // users of an application this server has not loaded yet
        for key in found.keys() {
            reload.push(key.clone());
        }
        self.apps.store(Arc::new(apps));
        for id in reload {
            self.reload_app_locked(&id).await?;
        }
        Ok(())
    }

    /// Holds off reloads and user patches while the guard lives (they wait
    /// for it); ended sessions still take effect. For maintenance and for
    /// tests that prove the latter.
    pub async fn hold_reloads(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reload_lock.lock().await
    }

    /// The one door through which committed changes reach the runtime:
    /// ended sessions are forgotten first, then the application's snapshot
    /// is patched (one cell) or reloaded.
    pub async fn apply(&self, applied: &Applied) -> Result<(), StoreError> {
        for user_id in &applied.ended_users {
            self.sessions.forget_user(user_id);
        }
        for token_hash in &applied.ended_tokens {
            self.sessions.forget_token(token_hash);
        }
        let Some((app, version)) = &applied.policy else {
            return self.users_changed(&applied.changed_users).await;
        };
        match &applied.cell {
            Some(cell) => self.cell_changed(app, *version, cell).await,
            None => self.reload_app(app).await,
        }
    }

    /// After the commit of a change to one permission cell, counted as
    /// `version` of its application: updates that snapshot in place of a
    /// reload (or reloads it, see [`Runtime::patch_cell_locked`]).
    async fn cell_changed(
        &self,
        app: &str,
        version: i64,
        cell: &ChangedCell,
    ) -> Result<(), StoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        if !self.patch_cell_locked(app, version, cell).await? {
            self.reload_app_locked(app).await?;
        }
        Ok(())
    }

    /// Patches one cell, changed as `version` of `app`, into the snapshot;
    /// true if the snapshot now holds that version (patched, or a reload
    /// saw it already). The cell is read back by ids under the lock, so of
    /// two racing changes the last to apply shows what the database holds.
    /// False, with nothing done, where a patch cannot be trusted and the
    /// application must be reloaded: another change came in between, or
    /// the service or subject is no longer called what the snapshot calls
    /// it (a rename committed meanwhile).
    pub(crate) async fn patch_cell_locked(
        &self,
        app: &str,
        version: i64,
        cell: &ChangedCell,
    ) -> Result<bool, StoreError> {
        let Some(current) = self.snapshot(app) else {
            return Ok(false);
        };
        if current.version >= version {
            return Ok(true);
        }
        if current.version != version - 1 {
            return Ok(false);
        }
        let now =
            store::permissions::read_by_ids(&self.pool, cell.kind, &cell.ids, &cell.method).await?;
        let Some(now) =
            now.filter(|now| now.service == cell.service && now.subject == cell.subject)
        else {
            return Ok(false);
        };
        let subject = subject_of(cell.kind, &cell.subject);
        let until = now.cell.until.map(|until| until.0);
        let Some(mut patched) = current.with_cell(
            &cell.service,
            &subject,
            &cell.method,
            now.cell.effect,
            until,
        ) else {
            return Ok(false);
        };
        patched.version = version;
        let mut apps = Apps::clone(&self.apps.load());
        apps.insert(app_key(app), Arc::new(patched));
        self.apps.store(Arc::new(apps));
        Ok(true)
    }

    /// The user behind a token, if its session is live and belongs to
    /// `application_id` (a token of another application opens nothing
    /// here); renews its activity. A session idle for `timeout` or longer
    /// is over, and deleted.
    pub async fn authenticate(
        &self,
        application_id: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<String>, StoreError> {
        self.authenticate_at(application_id, token, timeout, now_millis())
            .await
    }

    /// [`Runtime::authenticate`], saying also who issued an impersonation
    /// session.
    pub async fn session(
        &self,
        application_id: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<Authenticated>, StoreError> {
        self.session_at(application_id, token, timeout, now_millis())
            .await
    }

    /// [`Runtime::authenticate`] as of `now` (milliseconds since the epoch),
    /// so the inactivity boundary can be tested to the millisecond: a
    /// session idle for exactly `timeout` is over.
    pub async fn authenticate_at(
        &self,
        application_id: &str,
        token: &str,
        timeout: Duration,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .session_at(application_id, token, timeout, now)
            .await?
            .map(|session| session.user_id))
    }

    /// [`Runtime::session`] as of `now`.
    pub async fn session_at(
        &self,
        application_id: &str,
        token: &str,
        timeout: Duration,
        now: i64,
    ) -> Result<Option<Authenticated>, StoreError> {
        let token_hash = TokenHash::of(token);
        let token_hash = token_hash.as_str();
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let app = application_id;
        let cached = if self.feed_is_stale() {
            // another server may have ended any cached session meanwhile:
            // the database decides until the feed is read again
            Cached::Missing
        } else {
            self.sessions.lookup(token_hash, app, now, timeout_ms)
        };
        match cached {
            Cached::OtherApp => Ok(None),
            Cached::Live {
                user_id,
                persist,
                impersonated_by,
            } => {
                if persist && !store::sessions::touch(&self.pool, token_hash, now).await? {
                    // ended elsewhere (another server's logout)
                    self.sessions.forget_token(token_hash);
                    return Ok(None);
                }
                Ok(Some(Authenticated {
                    user_id,
                    impersonated_by,
                    waited: persist,
                }))
            }
            // expired by this cache's clock: the database may know of
            // activity on another server since, so it decides
            Cached::Expired | Cached::Missing => {
                let generation = self.sessions.generation();
                let Some(session) = store::sessions::find(&self.pool, token_hash).await? else {
                    return Ok(None);
                };
                if !session.application_id.eq_ignore_ascii_case(app) {
                    return Ok(None);
                }
                if now.saturating_sub(session.last_seen_at) >= timeout_ms {
                    let cutoff = now.saturating_sub(timeout_ms);
                    store::sessions::delete_expired(&self.pool, token_hash, cutoff).await?;
                    return Ok(None);
                }
                if session.expires_at.is_some_and(|end| now >= end) {
                    // an impersonation session past its end: idle or not
                    store::sessions::delete_expired(&self.pool, token_hash, i64::MAX).await?;
                    return Ok(None);
                }
                if !store::sessions::touch(&self.pool, token_hash, now).await? {
                    // ended between the read and now
                    return Ok(None);
                }
                let known = self
                    .snapshot(app)
                    .is_some_and(|snapshot| snapshot.users.contains_key(&session.app_user_id));
                if !known {
                    // a user added on another server that the feed has not
                    // brought here yet
                    self.users_changed(std::slice::from_ref(&session.app_user_id))
                        .await?;
                }
                if !self.feed_is_stale() {
                    self.sessions.insert_unless_forgotten(
                        token_hash,
                        &session.app_user_id,
                        &app_key(app),
                        now,
                        generation,
                        session.expires_at,
                        session.impersonated_by.as_deref(),
                    );
                }
                Ok(Some(Authenticated {
                    user_id: session.app_user_id,
                    impersonated_by: session.impersonated_by.map(Arc::from),
                    waited: true,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy task's wait for the feed has one clock per catch-up, not
    /// per question: once it ran out, the task's next question (the second
    /// of the same run) does not wait anew, so a feed always a little
    /// behind cannot hold a reload off for ever.
    #[tokio::test]
    async fn the_wait_for_the_feed_is_bounded_across_questions() {
        let dir = std::env::temp_dir().join(format!(
            "runtime-wait-{}-{}",
            std::process::id(),
            now_millis()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = format!("sqlite://{}/console.db", dir.display());
        let (pool, _) = store::connect_and_migrate(&url).await.expect("pool");
        let runtime = Runtime::open(pool).await.expect("runtime");
        runtime.feed_followed.store(true, Ordering::SeqCst);
        runtime.events_seen.store(0, Ordering::SeqCst);
        let fresh = || runtime.feed_read_at.store(now_millis(), Ordering::SeqCst);
        fresh();
        assert!(runtime.feed_goes_first(5), "behind: the task waits");
        assert!(runtime.feed_goes_first(5), "still within the wait");
        tokio::time::sleep(Duration::from_millis(
            u64::try_from(sync::FEED_FIRST_MAX_MS).expect("ms") + 20,
        ))
        .await;
        fresh();
        assert!(!runtime.feed_goes_first(5), "the wait ran out");
        assert!(!runtime.feed_goes_first(6), "and is not started again");
        // caught up: the next change waits for the feed again
        runtime.mark_policy_seen(1);
        assert!(runtime.feed_goes_first(7), "a fresh wait");
        // a feed that is not behind resets the clock too
        runtime.events_seen.store(7, Ordering::SeqCst);
        assert!(!runtime.feed_goes_first(7));
        assert!(runtime.feed_goes_first(8));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_cell_event_reads_back_whatever_its_names_hold() {
        let cell = ChangedCell {
            ids: CellIds {
                service_id: "17".into(),
                subject_id: "u-1".into(),
            },
            service: "orders".into(),
            kind: SubjectKind::Users,
            subject: r#"o"brien\x@example.com"#.into(),
            method: "deleteOrder".into(),
        };
        let text = cell.event_text("APP-1", 42);
        assert_eq!(
            ChangedCell::from_event_text(&text),
            Some(("APP-1".to_string(), 42, cell))
        );
        assert_eq!(ChangedCell::from_event_text("not json"), None);
    }
}
