//! The runtime's in-memory view: a snapshot of every assignment (swapped
//! atomically after each change) and a cache of live user sessions. The hot
//! path reads only these; the database is read on a cache miss.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use sqlx::Row;

use crate::db::{now_millis, Pool};
use crate::decision::{Assignments, Effect, Policy, ServicePolicy, Subject};
use crate::permissions::{stored_effect as effect_of, ALL_METHODS};
use crate::roles::{AUTHENTICATED, NOT_AUTHENTICATED};
use crate::secret::{hash_token, TokenHash};

/// A user as the runtime needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotUser {
    pub email: String,
    pub name: String,
    pub enabled: bool,
    pub roles: Vec<String>,
    /// Themself, `AuthenticatedUser` and their roles, built once per
    /// snapshot: a check allocates nothing for them.
    pub subjects: Arc<[Subject]>,
}

impl SnapshotUser {
    fn with_subjects(mut self) -> SnapshotUser {
        let mut subjects = Vec::with_capacity(self.roles.len() + 2);
        subjects.push(Subject::User(self.email.clone()));
        subjects.push(Subject::Role(AUTHENTICATED.to_string()));
        subjects.extend(self.roles.iter().cloned().map(Subject::Role));
        self.subjects = subjects.into();
        self
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub policy: Policy,
    /// By objectId; shared between snapshots until a user changes, and
    /// handed to the services that are called without a copy.
    pub users: Arc<HashMap<String, Arc<SnapshotUser>>>,
    anonymous: Arc<[Subject]>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            policy: Policy::default(),
            users: Arc::default(),
            anonymous: Arc::new([Subject::Role(NOT_AUTHENTICATED.to_string())]),
        }
    }
}

impl Snapshot {
    /// The subjects of a call: anonymous callers hold `NotAuthenticatedUser`
    /// only; a user is themself, `AuthenticatedUser` and their roles. `None`
    /// when the user is gone or disabled.
    pub fn subjects(&self, caller: Option<&str>) -> Option<Arc<[Subject]>> {
        let Some(user_id) = caller else {
            return Some(self.anonymous.clone());
        };
        let user = self.users.get(user_id).filter(|user| user.enabled)?;
        Some(user.subjects.clone())
    }
}

/// One permission cell: by the ids the database keys on, and by the names
/// the snapshot files it under.
pub struct CellKey<'a> {
    pub service_id: &'a str,
    pub service: &'a str,
    pub subject_id: &'a str,
    pub subject: &'a Subject,
    /// A method name, or `*` for All Methods.
    pub method: &'a str,
}

struct CachedSession {
    user_id: String,
    last_seen: i64,
    persisted_at: i64,
}

pub struct Gateway {
    snapshot: ArcSwap<Snapshot>,
    sessions: Mutex<HashMap<String, CachedSession>>,
    /// Reloads run one at a time, so the last one to finish saw every commit.
    reload_lock: tokio::sync::Mutex<()>,
    /// The database's counters as this process last acted on them.
    policy_seen: AtomicI64,
    sessions_seen: AtomicI64,
    /// Counts every forgetting of cached sessions (changed under the
    /// sessions lock): a session read from the database is cached only if
    /// nothing was forgotten meanwhile, so a logout racing a first call
    /// cannot leave the dead token alive in the cache.
    forgotten: AtomicU64,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            sessions: Mutex::new(HashMap::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            policy_seen: AtomicI64::new(-1),
            sessions_seen: AtomicI64::new(-1),
            forgotten: AtomicU64::new(0),
        }
    }
}

fn set_assignment(assignments: &mut Assignments, method: String, effect: Effect) {
    if method == ALL_METHODS {
        assignments.all_methods = effect;
    } else if effect == Effect::Inherit {
        // as loaded: Inherit is the absence of a cell
        assignments.methods.remove(&method);
    } else {
        assignments.methods.insert(method, effect);
    }
}

/// Reads everything the decision needs from the database.
pub async fn load_snapshot(pool: &Pool) -> Result<Snapshot, sqlx::Error> {
    let mut services: HashMap<String, ServicePolicy> = HashMap::new();
    for row in sqlx::query(
        "select s.name, m.name from service s left join service_method m on m.service_id = s.service_id",
    )
    .fetch_all(pool)
    .await?
    {
        let service = services.entry(row.try_get(0)?).or_default();
        if let Some(method) = row.try_get::<Option<String>, _>(1)? {
            service.methods.insert(method);
        }
    }
    for (sql, is_user) in [
        (
            "select s.name, u.email, p.method_name, p.effect from user_permission p \
             join service s on s.service_id = p.service_id \
             join app_user u on u.app_user_id = p.app_user_id",
            true,
        ),
        (
            "select s.name, r.name, p.method_name, p.effect from role_permission p \
             join service s on s.service_id = p.service_id \
             join role r on r.role_id = p.role_id",
            false,
        ),
    ] {
        for row in sqlx::query(sql).fetch_all(pool).await? {
            let service: String = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            let effect: String = row.try_get(3)?;
            let subject = if is_user {
                Subject::User(name)
            } else {
                Subject::Role(name)
            };
            let assignments = services
                .entry(service)
                .or_default()
                .assignments
                .entry(subject)
                .or_default();
            set_assignment(assignments, row.try_get(2)?, effect_of(&effect));
        }
    }
    let mut users = HashMap::new();
    for row in sqlx::query("select app_user_id, email, name, user_status from app_user")
        .fetch_all(pool)
        .await?
    {
        let status: String = row.try_get(3)?;
        users.insert(
            row.try_get::<String, _>(0)?,
            SnapshotUser {
                email: row.try_get(1)?,
                name: row.try_get(2)?,
                enabled: status == "ENABLED",
                roles: Vec::new(),
                subjects: Arc::new([]),
            },
        );
    }
    for row in sqlx::query(
        "select ur.app_user_id, r.name from user_role ur join role r on r.role_id = ur.role_id order by r.name_key",
    )
    .fetch_all(pool)
    .await?
    {
        let user_id: String = row.try_get(0)?;
        if let Some(user) = users.get_mut(&user_id) {
            user.roles.push(row.try_get(1)?);
        }
    }
    let users = users
        .into_iter()
        .map(|(id, user)| (id, Arc::new(user.with_subjects())))
        .collect();
    let policy = Policy {
        services: services
            .into_iter()
            .map(|(name, service)| (name, Arc::new(service)))
            .collect(),
    };
    Ok(Snapshot {
        policy,
        users: Arc::new(users),
        ..Snapshot::default()
    })
}

impl Gateway {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Reads the assignments again and swaps them in at once.
    pub async fn reload(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.reload_lock.lock().await;
        self.reload_locked(pool).await
    }

    async fn reload_locked(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        // the counter is read first: a change committed meanwhile makes the
        // next poll reload again, never the other way round
        let (policy, sessions) = versions(pool).await?;
        let snapshot = load_snapshot(pool).await?;
        self.snapshot.store(Arc::new(snapshot));
        self.policy_seen.store(policy, Ordering::SeqCst);
        if self.sessions_seen.load(Ordering::SeqCst) < 0 {
            self.sessions_seen.store(sessions, Ordering::SeqCst);
        }
        Ok(())
    }

    /// After a committed change of users, roles, services or permissions:
    /// tells the other servers, then reloads here.
    pub async fn changed(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        sqlx::query("update policy_version set policy = policy + 1 where policy_version_id = 1")
            .execute(pool)
            .await?;
        self.reload(pool).await
    }

    /// Inside the transaction that ends sessions (password change, disable,
    /// delete): tells the other servers to forget their cached sessions, in
    /// the same commit, so a crash right after it cannot skip the telling.
    pub async fn count_sessions_change(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "update policy_version set sessions = sessions + 1 where policy_version_id = 1",
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Inside the transaction of any change the runtime must see: counts
    /// the change in the same commit (a crash after the commit cannot hide
    /// it from the other servers). After the commit, reload, or for one cell
    /// hand the number to [`Gateway::cell_changed`].
    pub async fn count_change(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "update policy_version set policy = policy + 1 where policy_version_id = 1 returning policy",
        )
        .fetch_one(conn)
        .await
    }

    /// After the commit of a change to one permission cell, counted as
    /// `version`: updates this snapshot in place of a full reload (one
    /// service is copied, everything else is shared). The cell is read back
    /// by ids under the lock, so of two racing changes the last to apply
    /// shows what the database holds; if another change came in between, or
    /// the service or subject is no longer called what the snapshot calls it
    /// (a rename committed meanwhile), this falls back to a full reload.
    pub async fn cell_changed(
        &self,
        pool: &Pool,
        version: i64,
        cell: &CellKey<'_>,
    ) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let seen = self.policy_seen.load(Ordering::SeqCst);
        if seen >= version {
            // a reload since the commit has seen this change already
            return Ok(());
        }
        let current = self.snapshot.load_full();
        let Some(service_policy) = current
            .policy
            .services
            .get(cell.service)
            .filter(|_| seen == version - 1)
        else {
            return self.reload_locked(pool).await;
        };
        let (sql, name) = match cell.subject {
            Subject::User(email) => (
                "select s.name, u.email, p.effect from service s \
                 join app_user u on u.app_user_id = $2 \
                 left join user_permission p on p.service_id = s.service_id \
                 and p.app_user_id = u.app_user_id and p.method_name = $3 \
                 where s.service_id = $1",
                email,
            ),
            Subject::Role(role) => (
                "select s.name, r.name, p.effect from service s \
                 join role r on r.role_id = $2 \
                 left join role_permission p on p.service_id = s.service_id \
                 and p.role_id = r.role_id and p.method_name = $3 \
                 where s.service_id = $1",
                role,
            ),
        };
        let row = sqlx::query(sql)
            .bind(cell.service_id)
            .bind(cell.subject_id)
            .bind(cell.method)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else {
            return self.reload_locked(pool).await;
        };
        let (service_now, name_now): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        if service_now != cell.service || &name_now != name {
            return self.reload_locked(pool).await;
        }
        let stored: Option<String> = row.try_get(2)?;
        let effect = stored.as_deref().map(effect_of).unwrap_or(Effect::Inherit);
        let mut changed = ServicePolicy::clone(service_policy);
        let assignments = changed.assignments.entry(cell.subject.clone()).or_default();
        set_assignment(assignments, cell.method.to_string(), effect);
        if assignments == &Assignments::default() {
            changed.assignments.remove(cell.subject);
        }
        let mut services = current.policy.services.clone();
        services.insert(cell.service.to_string(), Arc::new(changed));
        self.snapshot.store(Arc::new(Snapshot {
            policy: Policy { services },
            users: current.users.clone(),
            anonymous: current.anonymous.clone(),
        }));
        self.policy_seen.store(version, Ordering::SeqCst);
        Ok(())
    }

    /// After sessions were ended (logout, password change, disable, delete):
    /// tells the other servers to forget their cached sessions.
    pub async fn sessions_changed(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        sqlx::query(
            "update policy_version set sessions = sessions + 1 where policy_version_id = 1",
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Acts on changes another server made: reloads the snapshot, drops the
    /// session cache. True if anything was refreshed.
    pub async fn refresh_if_changed(&self, pool: &Pool) -> Result<bool, sqlx::Error> {
        let (policy, sessions) = versions(pool).await?;
        let mut refreshed = false;
        if sessions != self.sessions_seen.load(Ordering::SeqCst) {
            let mut cached = self.sessions();
            cached.clear();
            self.forgotten.fetch_add(1, Ordering::SeqCst);
            drop(cached);
            self.sessions_seen.store(sessions, Ordering::SeqCst);
            refreshed = true;
        }
        if policy != self.policy_seen.load(Ordering::SeqCst) {
            let _one_at_a_time = self.reload_lock.lock().await;
            // a change made here meanwhile may have caught up already
            let (policy, _) = versions(pool).await?;
            if policy != self.policy_seen.load(Ordering::SeqCst) {
                self.reload_locked(pool).await?;
                refreshed = true;
            }
        }
        Ok(refreshed)
    }

    /// Polls the database's counters every `every`, for as long as the
    /// process runs. A database that is down leaves the last snapshot in
    /// force (checks go on answering from it); once it is back, any change
    /// missed meanwhile shows as a different counter and is reloaded.
    pub fn spawn_refresher(self: Arc<Self>, pool: Pool, every: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticker.tick().await;
                match self.refresh_if_changed(&pool).await {
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

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedSession>> {
        // a panic while holding the lock leaves a map that is still valid
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops every cached session of a user (logout everywhere, disable,
    /// password change, delete).
    pub fn forget_user(&self, user_id: &str) {
        let mut sessions = self.sessions();
        sessions.retain(|_, session| session.user_id != user_id);
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }

    pub fn forget_token(&self, token: &str) {
        let mut sessions = self.sessions();
        sessions.remove(&hash_token(token));
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }

    /// The user behind a token, if its session is live; renews its activity.
    /// A session idle for `timeout` or longer is over, and deleted.
    pub async fn authenticate(
        &self,
        pool: &Pool,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<String>, sqlx::Error> {
        self.authenticate_at(pool, token, timeout, now_millis())
            .await
    }

    /// [`Gateway::authenticate`] as of `now` (milliseconds since the epoch),
    /// so the inactivity boundary can be tested to the millisecond: a
    /// session idle for exactly `timeout` is over.
    pub async fn authenticate_at(
        &self,
        pool: &Pool,
        token: &str,
        timeout: Duration,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let token_hash = TokenHash::of(token);
        let token_hash = token_hash.as_str();
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        // activity is written back at most this often (the cache is the truth in between)
        let persist_every = (timeout_ms / 10).min(60_000);
        enum Cached {
            Live { user_id: String, persist: bool },
            Expired,
            Missing,
        }
        let cached = {
            let mut sessions = self.sessions();
            match sessions.get_mut(token_hash) {
                Some(session) if now.saturating_sub(session.last_seen) < timeout_ms => {
                    session.last_seen = session.last_seen.max(now);
                    let persist = now.saturating_sub(session.persisted_at) >= persist_every;
                    if persist {
                        session.persisted_at = now;
                    }
                    Cached::Live {
                        user_id: session.user_id.clone(),
                        persist,
                    }
                }
                Some(_) => {
                    sessions.remove(token_hash);
                    Cached::Expired
                }
                None => Cached::Missing,
            }
        };
        match cached {
            Cached::Live { user_id, persist } => {
                if persist && !touch(pool, token_hash, now).await? {
                    // ended elsewhere (another server's logout)
                    self.sessions().remove(token_hash);
                    return Ok(None);
                }
                Ok(Some(user_id))
            }
            Cached::Expired => {
                delete_session(pool, token_hash).await?;
                Ok(None)
            }
            Cached::Missing => {
                let forgotten = self.forgotten.load(Ordering::SeqCst);
                let row = sqlx::query(
                    "select app_user_id, last_seen_at from user_session where token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let user_id: String = row.try_get(0)?;
                let last_seen: i64 = row.try_get(1)?;
                if now.saturating_sub(last_seen) >= timeout_ms {
                    delete_session(pool, token_hash).await?;
                    return Ok(None);
                }
                if !touch(pool, token_hash, now).await? {
                    // ended between the read and now
                    return Ok(None);
                }
                let mut sessions = self.sessions();
                if self.forgotten.load(Ordering::SeqCst) == forgotten {
                    sessions.insert(
                        token_hash.to_string(),
                        CachedSession {
                            user_id: user_id.clone(),
                            last_seen: now,
                            persisted_at: now,
                        },
                    );
                }
                Ok(Some(user_id))
            }
        }
    }
}

async fn versions(pool: &Pool) -> Result<(i64, i64), sqlx::Error> {
    let row =
        sqlx::query("select policy, sessions from policy_version where policy_version_id = 1")
            .fetch_one(pool)
            .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Renews a session's activity; false if the session is gone.
async fn touch(pool: &Pool, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update user_session set last_seen_at = $1 where token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn delete_session(pool: &Pool, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from user_session where token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}
