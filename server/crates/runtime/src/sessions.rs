//! The cache of live application sessions, by token hash. The database is
//! the truth; the cache saves a read per call and writes activity back at
//! most every tenth of the timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

struct CachedSession {
    user_id: String,
    /// The application, its id in uppercase.
    app: String,
    last_seen: i64,
    persisted_at: i64,
    /// The end of an impersonation session whatever its activity
    /// (`i64::MAX` for a login's).
    expires_at: i64,
    impersonated_by: Option<Arc<str>>,
}

/// What the cache knows of a token.
pub enum Cached {
    /// Live; `persist` says the activity is due to be written back.
    Live {
        user_id: String,
        persist: bool,
        /// Who issued it, for an impersonation session.
        impersonated_by: Option<Arc<str>>,
    },
    /// Was cached, ran out of time, and is now forgotten.
    Expired,
    /// A live or dead session of another application: no identity here.
    OtherApp,
    Missing,
}

#[derive(Default)]
pub struct SessionCache {
    sessions: Mutex<HashMap<String, CachedSession>>,
    /// Counts every forgetting of cached sessions (changed under the
    /// sessions lock): a session read from the database is cached only if
    /// nothing was forgotten meanwhile, so a logout racing a first call
    /// cannot leave the dead token alive in the cache.
    forgotten: AtomicU64,
}

impl SessionCache {
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, CachedSession>> {
        // a panic while holding the lock leaves a map that is still valid
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks a token up for a call to application `app` (its id, compared
    /// without case) as of `now`, renewing its activity when live. A session
    /// of another application is [`Cached::OtherApp`], and left as it is:
    /// a call elsewhere neither renews nor ends it.
    pub fn lookup(&self, token_hash: &str, app: &str, now: i64, timeout_ms: i64) -> Cached {
        // activity is written back at most this often (the cache is the truth in between)
        let persist_every = (timeout_ms / 10).min(60_000);
        let mut sessions = self.sessions();
        match sessions.get_mut(token_hash) {
            Some(session) if !session.app.eq_ignore_ascii_case(app) => Cached::OtherApp,
            Some(session)
                if now.saturating_sub(session.last_seen) < timeout_ms
                    && now < session.expires_at =>
            {
                session.last_seen = session.last_seen.max(now);
                let persist = now.saturating_sub(session.persisted_at) >= persist_every;
                if persist {
                    session.persisted_at = now;
                }
                Cached::Live {
                    user_id: session.user_id.clone(),
                    persist,
                    impersonated_by: session.impersonated_by.clone(),
                }
            }
            Some(_) => {
                sessions.remove(token_hash);
                Cached::Expired
            }
            None => Cached::Missing,
        }
    }

    /// The forget count to hand back to [`SessionCache::insert_unless_forgotten`].
    pub fn generation(&self) -> u64 {
        self.forgotten.load(Ordering::SeqCst)
    }

    /// Caches a session read from the database, unless anything was
    /// forgotten since `generation` was taken.
    #[allow(clippy::too_many_arguments, reason = "one session's fields")]
    pub fn insert_unless_forgotten(
        &self,
        token_hash: &str,
        user_id: &str,
        app: &str,
        now: i64,
        generation: u64,
        expires_at: Option<i64>,
        impersonated_by: Option<&str>,
    ) {
        let mut sessions = self.sessions();
        if self.forgotten.load(Ordering::SeqCst) == generation {
            sessions.insert(
                token_hash.to_string(),
                CachedSession {
                    user_id: user_id.to_string(),
                    app: app.to_string(),
                    last_seen: now,
                    persisted_at: now,
                    expires_at: expires_at.unwrap_or(i64::MAX),
                    impersonated_by: impersonated_by.map(Arc::from),
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.sessions().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops one token (ended elsewhere).
    pub fn forget_token(&self, token_hash: &str) {
        let mut sessions = self.sessions();
        sessions.remove(token_hash);
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops every cached session of a user.
    pub fn forget_user(&self, user_id: &str) {
        let mut sessions = self.sessions();
        sessions.retain(|_, session| session.user_id != user_id);
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops every cached session of an application (id in uppercase).
    pub fn forget_app(&self, app: &str) {
        let mut sessions = self.sessions();
        sessions.retain(|_, session| session.app != app);
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops everything (another server ended sessions).
    pub fn forget_all(&self) {
        let mut sessions = self.sessions();
        sessions.clear();
        self.forgotten.fetch_add(1, Ordering::SeqCst);
    }
}
