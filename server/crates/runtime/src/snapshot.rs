//! The permission snapshot: everything the decision needs, in memory,
//! swapped as a whole. Loading it fails closed: a stored effect that cannot
//! be read stops the load (the last good snapshot stays in force).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use policy::cells::SubjectKind;
use policy::compiled::{CompiledPolicy, CompiledService, SubjectId, SubjectIds};
use policy::decision::{
    caller_subjects, decide_as, Assignments, Decision, Effect, Policy, ServicePolicy, Subject,
};
use policy::impact::{subjects_impact, MethodImpact};
use policy::routes::Route;
use policy::wire::Verb;
use store::apps::StoredSettings;
use store::{Pool, StoreError};

use crate::signing::UpstreamSecret;
use crate::upstreams::{UpstreamMethod, UpstreamService};

/// A user as the runtime needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotUser {
    pub application_id: String,
    pub email: String,
    pub name: String,
    pub enabled: bool,
    pub roles: Vec<String>,
    /// Themself, `AuthenticatedUser` and their roles, built once per
    /// snapshot: a check allocates nothing for them.
    pub subjects: Arc<[Subject]>,
    /// Their numbers, in the same order: a check hashes no name for them.
    /// Set only with `subjects`, from the process's one table.
    ids: Arc<[SubjectId]>,
}

impl SnapshotUser {
    fn with_subjects(mut self, numbers: &mut SubjectIds) -> SnapshotUser {
        // the rule's own order (the key's role, if any, goes before these
        // at the call)
        self.subjects = caller_subjects(None, Some((&self.email, &self.roles))).into();
        self.ids = numbers.resolve(&self.subjects);
        self
    }

    /// The subjects a call of this user is checked with.
    pub fn caller(&self) -> CallerSubjects {
        CallerSubjects {
            names: self.subjects.clone(),
            ids: self.ids.clone(),
        }
    }
}

/// The numbers of every subject any snapshot of this process names. One
/// table for all of them, so a number taken from one snapshot means the
/// same subject in every other (a call may be judged by a newer snapshot
/// than the one its user was read from). It only grows, by the names of
/// users and roles as they first appear; it is locked while a snapshot is
/// built, never by a check.
static SUBJECT_IDS: LazyLock<Mutex<SubjectIds>> = LazyLock::new(Mutex::default);

fn subject_ids() -> MutexGuard<'static, SubjectIds> {
    // the table is only ever added to: one left by a panic is still whole
    SUBJECT_IDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A caller's subjects with their numbers, in the rule's order: what a
/// check takes. Reads as the list of subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerSubjects {
    // built only here, together, from the process's one table
    names: Arc<[Subject]>,
    ids: Arc<[SubjectId]>,
}

impl std::ops::Deref for CallerSubjects {
    type Target = [Subject];

    fn deref(&self) -> &[Subject] {
        &self.names
    }
}

/// An API key as the runtime resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotKey {
    pub application_id: String,
    /// The key's name (`REST`, `JS`, ... or a custom name).
    pub name: String,
    /// Its role, a subject of every call made with the key.
    pub role: Subject,
    /// Its number in the process's one table (set only with `role`).
    role_id: SubjectId,
}

/// One application's permissions, users, keys and settings, as of one
/// count of its changes.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The application's id as stored.
    pub application_id: String,
    pub name: String,
    pub is_default: bool,
    /// The application's policy count this snapshot shows (see
    /// `store::counters::bump_app`).
    pub version: i64,
    /// As stored: `None` follows the server's configuration.
    pub settings: StoredSettings,
    pub policy: Policy,
    /// The same policy as the runtime checks calls with: built from
    /// `policy` service by service, whenever a service of it changes.
    compiled: CompiledPolicy,
    /// By objectId; shared between snapshots until a user changes, and
    /// handed to the services that are called without a copy.
    pub users: Arc<HashMap<String, Arc<SnapshotUser>>>,
    /// API keys by their value in uppercase.
    pub keys: Arc<HashMap<String, SnapshotKey>>,
    /// HTTP upstream services by name.
    pub upstreams: Arc<HashMap<String, Arc<UpstreamService>>>,
    anonymous: CallerSubjects,
    /// The ends of its time-limited cells, soonest first.
    expiries: Arc<Vec<Expiry>>,
    /// The soonest end (milliseconds since the epoch), `i64::MAX` for none:
    /// the runtime compares it with the clock before every decision and
    /// answers from [`Snapshot::expired`] from that instant on.
    pub next_expiry: i64,
    /// The enabled users holding each subject, built when a change's
    /// impact is first asked of these users: shared, like them, between
    /// snapshots until a user changes. The first impact after a user
    /// changes pays for it (a pass over every user's subjects); each later
    /// one reads only the holders of what it changes.
    holders: Arc<OnceLock<Holders>>,
}

/// The enabled users of one users map, by the subjects they hold.
struct Holders {
    /// the map they were read from (kept, so it is never another one at
    /// the same address)
    users: Arc<HashMap<String, Arc<SnapshotUser>>>,
    by_subject: HashMap<SubjectId, Vec<Arc<SnapshotUser>>>,
}

impl Holders {
    fn of(users: &Arc<HashMap<String, Arc<SnapshotUser>>>) -> Holders {
        let mut by_subject: HashMap<SubjectId, Vec<Arc<SnapshotUser>>> = HashMap::new();
        for user in users.values().filter(|user| user.enabled) {
            for id in user.ids.iter() {
                by_subject.entry(*id).or_default().push(user.clone());
            }
        }
        Holders {
            users: users.clone(),
            by_subject,
        }
    }
}

impl std::fmt::Debug for Holders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holders")
            .field("subjects", &self.by_subject.len())
            .finish_non_exhaustive()
    }
}

/// A time-limited cell's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub at: i64,
    pub service: String,
    pub subject: Subject,
    /// A method name or `*`.
    pub method: String,
}

fn anonymous_subjects() -> CallerSubjects {
    let names: Arc<[Subject]> = caller_subjects(None, None).into();
    let ids = subject_ids().resolve(&names);
    CallerSubjects { names, ids }
}

/// The services of `policy` named in `changed`, compiled again into a copy
/// of `compiled` (a service no longer in `policy` is dropped).
fn recompiled<'a>(
    compiled: &CompiledPolicy,
    policy: &Policy,
    changed: impl IntoIterator<Item = &'a str>,
) -> CompiledPolicy {
    let mut services = compiled.services.clone();
    let mut numbers = subject_ids();
    for name in changed {
        match policy.services.get(name) {
            Some(service) => {
                services.insert(
                    name.to_string(),
                    Arc::new(CompiledService::compile(service, &mut numbers)),
                );
            }
            None => {
                services.remove(name);
            }
        }
    }
    CompiledPolicy { services }
}

fn soonest(expiries: &[Expiry]) -> i64 {
    expiries.first().map_or(i64::MAX, |expiry| expiry.at)
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            application_id: String::new(),
            name: String::new(),
            is_default: false,
            version: -1,
            settings: StoredSettings::default(),
            policy: Policy::default(),
            compiled: CompiledPolicy::default(),
            users: Arc::default(),
            keys: Arc::default(),
            upstreams: Arc::default(),
            anonymous: anonymous_subjects(),
            expiries: Arc::default(),
            next_expiry: i64::MAX,
            holders: Arc::default(),
        }
    }
}

impl Snapshot {
    /// The subjects of a call: anonymous callers hold `NotAuthenticatedUser`
    /// only; a user is themself, `AuthenticatedUser` and their roles. `None`
    /// when the user is gone or disabled.
    pub fn subjects(&self, caller: Option<&str>) -> Option<CallerSubjects> {
        let Some(user_id) = caller else {
            return Some(self.anonymous.clone());
        };
        Some(self.live_user(user_id)?.caller())
    }

    /// The user with this objectId, unless gone or disabled: a session of
    /// theirs is no identity.
    pub fn live_user(&self, user_id: &str) -> Option<&Arc<SnapshotUser>> {
        self.users.get(user_id).filter(|user| user.enabled)
    }

    /// The rule on this snapshot for one call: the key's role (if the call
    /// was made with a key), then the caller's subjects. For views and
    /// tests that hold names; calls are checked with [`Snapshot::check`].
    pub fn decide(
        &self,
        key_role: Option<&Subject>,
        subjects: &[Subject],
        service: &str,
        method: &str,
    ) -> Decision {
        decide_as(&self.policy, key_role, subjects, service, method)
    }

    /// [`Snapshot::decide`] on the compiled policy, with the subjects'
    /// numbers: how the runtime checks a call. The same answer, reason
    /// included.
    pub fn check(
        &self,
        key: Option<&SnapshotKey>,
        caller: &CallerSubjects,
        service: &str,
        method: &str,
    ) -> Decision {
        self.compiled.decide(
            key.map(|key| (&key.role, key.role_id)),
            &caller.names,
            &caller.ids,
            service,
            method,
        )
    }

    /// The key a call names with `/{application-id}/{api-key}/...`: one of
    /// this application's keys (compared without case, as UUIDs are).
    pub fn key(&self, api_key: &str) -> Option<&SnapshotKey> {
        self.keys.get(&api_key.to_ascii_uppercase())
    }

    /// This snapshot with one cell set to `effect`, ending at `until` if it
    /// is time-limited: one service is copied, everything else is shared.
    pub fn with_cell(
        &self,
        service: &str,
        subject: &Subject,
        method: &str,
        effect: Effect,
        until: Option<i64>,
    ) -> Option<Snapshot> {
        let service_policy = self.policy.services.get(service)?;
        let mut changed = ServicePolicy::clone(service_policy);
        changed.set(subject, method, effect);
        let mut services = self.policy.services.clone();
        services.insert(service.to_string(), Arc::new(changed));
        let same_cell = |expiry: &Expiry| {
            expiry.service == service && expiry.subject == *subject && expiry.method == method
        };
        let mut expiries = self.expiries.clone();
        if until.is_some() || self.expiries.iter().any(same_cell) {
            let list = Arc::make_mut(&mut expiries);
            list.retain(|expiry| !same_cell(expiry));
            if let Some(at) = until.filter(|_| effect != Effect::Inherit) {
                list.push(Expiry {
                    at,
                    service: service.to_string(),
                    subject: subject.clone(),
                    method: method.to_string(),
                });
                list.sort_by_key(|expiry| expiry.at);
            }
        }
        let policy = Policy { services };
        // the one subject's row patched into the compiled service; compiled
        // again when patching no longer pays
        let patched = self.compiled.services.get(service).and_then(|compiled| {
            let assignments = policy.services.get(service)?.assignments.get(subject);
            compiled.with_subject(subject_ids().intern(subject), assignments)
        });
        let compiled = match patched {
            Some(patched) => {
                let mut services = self.compiled.services.clone();
                services.insert(service.to_string(), Arc::new(patched));
                CompiledPolicy { services }
            }
            None => recompiled(&self.compiled, &policy, [service]),
        };
        Some(Snapshot {
            compiled,
            policy,
            next_expiry: soonest(&expiries),
            expiries,
            ..self.clone()
        })
    }

    /// This snapshot as of `now`: every time-limited cell whose end has
    /// come is Inherit (the expirer deletes its row later; until then,
    /// every snapshot loaded or patched files the end again and this
    /// applies it again).
    pub fn expired(&self, now: i64) -> Snapshot {
        let due = self.expiries.partition_point(|expiry| expiry.at <= now);
        if due == 0 {
            return self.clone();
        }
        let mut services = self.policy.services.clone();
        for expiry in &self.expiries[..due] {
            if let Some(service) = services.get_mut(&expiry.service) {
                Arc::make_mut(service).set(&expiry.subject, &expiry.method, Effect::Inherit);
            }
        }
        let expiries: Vec<Expiry> = self.expiries[due..].to_vec();
        let policy = Policy { services };
        let mut touched: Vec<&str> = self.expiries[..due]
            .iter()
            .map(|expiry| expiry.service.as_str())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        Snapshot {
            compiled: recompiled(&self.compiled, &policy, touched),
            policy,
            next_expiry: soonest(&expiries),
            expiries: Arc::new(expiries),
            ..self.clone()
        }
    }

    /// The time-limited cells, soonest end first.
    pub fn expiries(&self) -> &[Expiry] {
        &self.expiries
    }
}

/// One cell of a change, as [`Snapshot::impact`] weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellEdit {
    pub subject: Subject,
    /// A method name or `*`.
    pub method: String,
    pub before: Effect,
    pub after: Effect,
}

impl Snapshot {
    /// What these edits of one service do to its enabled users and to
    /// anonymous callers, per method; empty for an unknown service.
    pub fn impact(&self, service: &str, edits: &[CellEdit]) -> Vec<MethodImpact> {
        let Some(current) = self.policy.services.get(service) else {
            return Vec::new();
        };
        // only the edited subjects are copied, each as it was before the
        // edits (their `before`: usually the snapshot's own state) and after
        let mut edited: HashMap<&Subject, (Assignments, Assignments)> = HashMap::new();
        for edit in edits {
            let (before, after) = edited.entry(&edit.subject).or_insert_with(|| {
                let own = current
                    .assignments
                    .get(&edit.subject)
                    .cloned()
                    .unwrap_or_default();
                (own.clone(), own)
            });
            before.set(&edit.method, edit.before);
            after.set(&edit.method, edit.after);
        }
        let mut key_roles: Vec<Subject> = self.keys.values().map(|key| key.role.clone()).collect();
        key_roles.sort();
        key_roles.dedup();
        // only the holders of an edited subject can gain or lose: they are
        // found by number, without reading every user's names
        let numbered: Vec<SubjectId> = {
            let numbers = subject_ids();
            edits
                .iter()
                .filter_map(|edit| numbers.get(&edit.subject))
                .collect()
        };
        let holders = self.holders.get_or_init(|| Holders::of(&self.users));
        let mut users: Vec<&SnapshotUser> = if Arc::ptr_eq(&holders.users, &self.users) {
            numbered
                .iter()
                .filter_map(|id| holders.by_subject.get(id))
                .flatten()
                .map(|user| &**user)
                .collect()
        } else {
            self.users
                .values()
                .filter(|user| user.enabled && user.ids.iter().any(|id| numbered.contains(id)))
                .map(|user| &**user)
                .collect()
        };
        // a user holding two edited subjects is one caller
        users.sort_unstable_by_key(|user| std::ptr::from_ref(*user));
        users.dedup_by_key(|user| std::ptr::from_ref(*user));
        subjects_impact(
            current,
            edited
                .iter()
                .map(|(subject, (before, after))| (*subject, before, after)),
            users.iter().map(|user| &*user.subjects),
            &key_roles,
        )
    }
}

impl Snapshot {
    /// This snapshot with these users as given (`None`: gone); the
    /// permissions are shared.
    pub fn with_users(&self, changed: HashMap<String, Option<Arc<SnapshotUser>>>) -> Snapshot {
        let mut users = HashMap::clone(&self.users);
        for (id, user) in changed {
            match user {
                Some(user) => users.insert(id, user),
                None => users.remove(&id),
            };
        }
        Snapshot {
            users: Arc::new(users),
            holders: Arc::default(),
            ..self.clone()
        }
    }
}

pub fn subject_of(kind: SubjectKind, name: &str) -> Subject {
    match kind {
        SubjectKind::Users => Subject::User(name.to_string()),
        SubjectKind::Roles => Subject::Role(name.to_string()),
    }
}

/// Reads everything the decision needs about one application from the
/// database, as of its policy count `version` (read before this). A stored
/// effect that is neither Grant nor Deny is an error, never Inherit.
/// `None` if the application does not exist.
pub async fn load(pool: &Pool, app: &str, version: i64) -> Result<Option<Snapshot>, StoreError> {
    let mut services: HashMap<String, ServicePolicy> = HashMap::new();
    let mut conn = store::acquire(pool).await?;
    let Some(row) = store::apps::get(&mut conn, app).await? else {
        return Ok(None);
    };
    // the large reads run at once, each on its own connection (the
    // database's work for each is on its own thread): the load takes as
    // long as the longest of them, not their sum
    let role_cells = async {
        let mut conn = store::acquire(pool).await?;
        store::permissions::all_of_kind(&mut conn, app, SubjectKind::Roles).await
    };
    let users = async {
        let rows = store::users::all(pool, app).await?;
        let roles = store::users::all_roles(pool, app).await?;
        Ok::<_, StoreError>(snapshot_users(rows, roles))
    };
    let own = async {
        let methods = store::services::all_methods(&mut conn, app).await?;
        let user_cells =
            store::permissions::all_of_kind(&mut conn, app, SubjectKind::Users).await?;
        let upstreams = load_upstreams(&mut conn, app).await?;
        Ok::<_, StoreError>((methods, user_cells, upstreams))
    };
    let ((methods, mut cells, upstreams), role_cells, users) =
        tokio::try_join!(own, role_cells, users)?;
    drop(conn);
    cells.extend(role_cells);
    for (_, service, method) in methods {
        let service = services.entry(service).or_default();
        if let Some(method) = method {
            service.methods.insert(method);
        }
    }
    let now = store::now_millis();
    let mut expiries = Vec::new();
    for cell in cells {
        if cell.until.is_some_and(|end| end <= now) {
            // over: Inherit, whether or not the expirer got to it yet
            continue;
        }
        // names are moved, not copied: a large application has 170,000 cells
        let subject = match cell.kind {
            SubjectKind::Users => Subject::User(cell.subject),
            SubjectKind::Roles => Subject::Role(cell.subject),
        };
        if let Some(at) = cell.until {
            expiries.push(Expiry {
                at,
                service: cell.service.clone(),
                subject: subject.clone(),
                method: cell.method.clone(),
            });
        }
        services
            .entry(cell.service)
            .or_default()
            .assignments
            .entry(subject)
            .or_default()
            .put(cell.method, cell.effect);
    }
    expiries.sort_by_key(|expiry| expiry.at);
    let policy = Policy {
        services: services
            .into_iter()
            .map(|(name, service)| (name, Arc::new(service)))
            .collect(),
    };
    // (the table is locked for the statement, never across an await)
    let compiled = CompiledPolicy::compile(&policy, &mut subject_ids());
    let keys = store::apps::keys(pool, app)
        .await?
        .into_iter()
        .map(|key| {
            let role = Subject::Role(key.role);
            (
                key.api_key.to_ascii_uppercase(),
                SnapshotKey {
                    application_id: key.application_id,
                    name: key.name,
                    role_id: subject_ids().intern(&role),
                    role,
                },
            )
        })
        .collect();
    Ok(Some(Snapshot {
        application_id: row.application_id,
        name: row.name,
        is_default: row.is_default != 0,
        version,
        settings: StoredSettings {
            session_timeout_secs: row.session_timeout_secs,
            max_failed_logins: row.max_failed_logins,
            lockout_secs: row.lockout_secs,
            registration: row.registration.map(|on| on != 0),
        },
        policy,
        compiled,
        users: Arc::new(users),
        keys: Arc::new(keys),
        upstreams: Arc::new(upstreams),
        next_expiry: soonest(&expiries),
        expiries: Arc::new(expiries),
        ..Snapshot::default()
    }))
}

/// The application's HTTP upstream services with their methods' routes. A
/// stored route or verb that cannot be read leaves its method unreachable
/// (a 404), never reachable at another path.
async fn load_upstreams(
    conn: &mut store::Conn,
    app: &str,
) -> Result<HashMap<String, Arc<UpstreamService>>, StoreError> {
    let rows = store::services::http_services(conn, app).await?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let mut methods: HashMap<String, Vec<UpstreamMethod>> = HashMap::new();
    for (service_id, name, verb, route) in store::services::call_lines(conn, app).await? {
        let template = route.unwrap_or_else(|| format!("/{name}"));
        let (Some(verb), Ok(route)) = (Verb::parse(&verb), Route::parse(&template)) else {
            tracing::warn!(method = %name, "a stored method's verb or route cannot be read");
            continue;
        };
        methods
            .entry(service_id)
            .or_default()
            .push(UpstreamMethod { name, verb, route });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let service = UpstreamService {
                methods: methods.remove(&row.service_id).unwrap_or_default(),
                base_url: row.base_url.unwrap_or_default(),
                timeout: Duration::from_millis(
                    row.timeout_ms
                        .and_then(|ms| u64::try_from(ms).ok())
                        .unwrap_or(policy::upstream::DEFAULT_TIMEOUT_MS),
                ),
                secret: UpstreamSecret::from_stored(row.secret.unwrap_or_default()),
                name: row.name.clone(),
            };
            (row.name, Arc::new(service))
        })
        .collect())
}

/// Users as the snapshot keeps them, from their rows and their role
/// assignments (user id, role name; in the order the subjects list them).
pub(crate) fn snapshot_users(
    rows: Vec<store::users::RuntimeUser>,
    roles: Vec<(String, String)>,
) -> HashMap<String, Arc<SnapshotUser>> {
    let mut users = HashMap::with_capacity(rows.len());
    for row in rows {
        users.insert(
            row.app_user_id,
            SnapshotUser {
                application_id: row.application_id,
                email: row.email,
                name: row.name,
                enabled: row.user_status == "ENABLED",
                roles: Vec::new(),
                subjects: Arc::new([]),
                ids: Arc::new([]),
            },
        );
    }
    for (user_id, role) in roles {
        if let Some(user) = users.get_mut(&user_id) {
            user.roles.push(role);
        }
    }
    let mut numbers = subject_ids();
    users
        .into_iter()
        .map(|(id, user)| (id, Arc::new(user.with_subjects(&mut numbers))))
        .collect()
}

/// Most users read again in one query (the databases' limits on bound
/// values are far above it).
const USERS_PER_READ: usize = 500;

/// The users with these ids as the database has them now (each knows its
/// application); an id with no user maps to `None` (deleted).
pub async fn load_users(
    pool: &Pool,
    ids: &[String],
) -> Result<HashMap<String, Option<Arc<SnapshotUser>>>, StoreError> {
    let mut found: HashMap<String, Option<Arc<SnapshotUser>>> =
        ids.iter().map(|id| (id.clone(), None)).collect();
    for chunk in ids.chunks(USERS_PER_READ) {
        let (rows, roles) = store::users::runtime_subset(pool, chunk).await?;
        for (id, user) in snapshot_users(rows, roles) {
            found.insert(id, Some(user));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
    use super::*;
    use fixture::{Fixture, Rng, Size};

    /// A snapshot of a generated application, built as `load` builds one.
    fn generated(fixture: &Fixture) -> Snapshot {
        let policy = fixture.policy();
        let mut numbers = subject_ids();
        let compiled = CompiledPolicy::compile(&policy, &mut numbers);
        let users = fixture
            .users
            .iter()
            .map(|user| {
                let snapshot_user = SnapshotUser {
                    application_id: "app".to_string(),
                    email: user.email.clone(),
                    name: String::new(),
                    enabled: true,
                    roles: user.roles.clone(),
                    subjects: Arc::new([]),
                    ids: Arc::new([]),
                };
                (
                    user.email.clone(),
                    Arc::new(snapshot_user.with_subjects(&mut numbers)),
                )
            })
            .collect();
        drop(numbers);
        Snapshot {
            policy,
            compiled,
            users: Arc::new(users),
            ..Snapshot::default()
        }
    }

    /// Every caller (each user, anonymous, each with and without a key)
    /// on every method, and one the catalog lacks: the compiled check
    /// answers as the rule does, reason included.
    fn assert_check_is_the_rule(snapshot: &Snapshot, fixture: &Fixture, step: &str) {
        let key_role = Subject::Role(fixture.roles[0].clone());
        let key = SnapshotKey {
            application_id: "app".to_string(),
            name: "JS".to_string(),
            role_id: subject_ids().intern(&key_role),
            role: key_role,
        };
        let mut callers: Vec<CallerSubjects> =
            snapshot.users.values().map(|user| user.caller()).collect();
        callers.push(snapshot.subjects(None).unwrap());
        let mut decided = 0;
        for caller in &callers {
            for key in [None, Some(&key)] {
                for (service, methods) in &fixture.services {
                    for method in methods.iter().map(String::as_str).chain(["missing"]) {
                        let rule =
                            snapshot.decide(key.map(|key| &key.role), caller, service, method);
                        let check = snapshot.check(key, caller, service, method);
                        assert_eq!(check, rule, "{step}: {caller:?} {key:?} {service}.{method}");
                        decided += 1;
                    }
                }
            }
        }
        assert!(decided > 1_000, "{step}: {decided}");
    }

    #[test]
    fn the_compiled_check_follows_every_way_a_snapshot_changes() {
        let size = Size {
            users: 60,
            roles: 8,
            services: 3,
            methods_per_service: 12,
        };
        let fixture = Fixture::generate(size, 0xC0DE);
        let mut snapshot = generated(&fixture);
        assert_check_is_the_rule(&snapshot, &fixture, "loaded");

        // one cell at a time, some of them time-limited
        let mut rng = Rng::new(5);
        let mut subjects: Vec<Subject> = fixture
            .roles
            .iter()
            .cloned()
            .map(Subject::Role)
            .chain(fixture.users.iter().map(|u| Subject::User(u.email.clone())))
            .collect();
        // a subject no cell named before
        subjects.push(Subject::Role("Newcomers".to_string()));
        let now = 1_000_000;
        for step in 0..400_i64 {
            let (service, methods) = &fixture.services[rng.below(fixture.services.len())];
            let subject = &subjects[rng.below(subjects.len())];
            let method = if rng.percent(30) {
                "*"
            } else {
                methods[rng.below(methods.len())].as_str()
            };
            let effect = [Effect::Grant, Effect::Deny, Effect::Inherit][rng.below(3)];
            let until = rng.percent(25).then_some(now + 1 + step);
            snapshot = snapshot
                .with_cell(service, subject, method, effect, until)
                .expect("a known service");
            if step % 25 == 0 {
                assert_check_is_the_rule(&snapshot, &fixture, &format!("cell {step}"));
            }
        }
        assert_check_is_the_rule(&snapshot, &fixture, "cells");
        assert!(!snapshot.expiries().is_empty());

        // ends reached: those cells turn to Inherit
        snapshot = snapshot.expired(now + 60);
        assert_check_is_the_rule(&snapshot, &fixture, "half expired");
        snapshot = snapshot.expired(now + 1_000);
        assert!(snapshot.expiries().is_empty());
        assert_check_is_the_rule(&snapshot, &fixture, "expired");

        // a user's roles change, one gains the new role, one is disabled
        let mut changed = HashMap::new();
        for (n, user) in fixture.users.iter().take(3).enumerate() {
            let mut now_user = SnapshotUser::clone(&snapshot.users[&user.email]);
            match n {
                0 => now_user.roles = vec!["Newcomers".to_string()],
                1 => now_user.roles.push(fixture.roles[1].clone()),
                _ => now_user.enabled = false,
            }
            let now_user = now_user.with_subjects(&mut subject_ids());
            changed.insert(user.email.clone(), Some(Arc::new(now_user)));
        }
        changed.insert(fixture.users[3].email.clone(), None);
        snapshot = snapshot.with_users(changed);
        assert!(snapshot.subjects(Some(&fixture.users[2].email)).is_none());
        assert_check_is_the_rule(&snapshot, &fixture, "users changed");
    }

    /// The impact of edits, judged by every enabled user of the snapshot
    /// with the general comparison of two whole services (itself checked
    /// against the rule caller by caller in `policy`): the service as the
    /// edits have it before, and after.
    fn impact_by_every_user(
        snapshot: &Snapshot,
        service: &str,
        edits: &[CellEdit],
    ) -> Vec<MethodImpact> {
        let mut before = ServicePolicy::clone(&snapshot.policy.services[service]);
        let mut after = before.clone();
        for edit in edits {
            before.set(&edit.subject, &edit.method, edit.before);
            after.set(&edit.subject, &edit.method, edit.after);
        }
        let users: Vec<Arc<SnapshotUser>> = snapshot
            .users
            .values()
            .filter(|user| user.enabled)
            .cloned()
            .collect();
        policy::impact::service_impact(
            &before,
            &after,
            users.iter().map(|user| &*user.subjects),
            &[],
        )
    }

    #[test]
    fn a_changes_impact_counts_the_holders_of_its_subjects_as_the_users_are_now() {
        let size = Size {
            users: 80,
            roles: 6,
            services: 2,
            methods_per_service: 10,
        };
        let fixture = Fixture::generate(size, 0x1A4C);
        let mut snapshot = generated(&fixture);
        let (service, methods) = &fixture.services[0];
        let role = Subject::Role(fixture.roles[0].clone());
        let edit = |snapshot: &Snapshot, subject: &Subject, method: &str, after: Effect| CellEdit {
            subject: subject.clone(),
            method: method.to_string(),
            before: snapshot.policy.services[service.as_str()].cell(subject, method),
            after,
        };
        let holders = |snapshot: &Snapshot| {
            snapshot
                .users
                .values()
                .filter(|user| user.enabled && user.roles.contains(&fixture.roles[0]))
                .count()
        };
        let denied = [edit(&snapshot, &role, "*", Effect::Deny)];
        let impact = snapshot.impact(service, &denied);
        assert_eq!(impact, impact_by_every_user(&snapshot, service, &denied));
        assert!(holders(&snapshot) > 0, "the fixture gives the role holders");
        assert!(!impact.is_empty());

        let mut changed = HashMap::new();
        // the users change after the holders were indexed: every holder of
        // the role is disabled (the first) or gone, and one other joins it
        let (holding, not_holding): (Vec<_>, Vec<_>) = fixture
            .users
            .iter()
            .partition(|user| user.roles.contains(&fixture.roles[0]));
        // one who may call a method here, so has something to lose
        let joiner = not_holding
            .iter()
            .find(|user| {
                let caller = snapshot.users[&user.email].caller();
                methods
                    .iter()
                    .any(|method| snapshot.decide(None, &caller, service, method).is_allowed())
            })
            .expect("a user who may call something");
        let mut joined = SnapshotUser::clone(&snapshot.users[&joiner.email]);
        joined.roles.push(fixture.roles[0].clone());
        changed.insert(
            joiner.email.clone(),
            Some(Arc::new(joined.with_subjects(&mut subject_ids()))),
        );
        for (n, user) in holding.iter().enumerate() {
            let mut disabled = SnapshotUser::clone(&snapshot.users[&user.email]);
            disabled.enabled = false;
            let changed_user = (n > 0).then(|| Arc::new(disabled));
            changed.insert(user.email.clone(), changed_user);
        }
        snapshot = snapshot.with_users(changed);
        assert_eq!(holders(&snapshot), 1, "the one who joined");
        for edits in [
            vec![edit(&snapshot, &role, "*", Effect::Deny)],
            vec![edit(&snapshot, &role, &methods[1], Effect::Deny)],
            // two subjects a user may hold both of: counted once
            vec![
                edit(&snapshot, &role, &methods[2], Effect::Deny),
                edit(
                    &snapshot,
                    &Subject::Role(policy::names::AUTHENTICATED.to_string()),
                    &methods[2],
                    Effect::Deny,
                ),
                edit(
                    &snapshot,
                    &Subject::User(joiner.email.clone()),
                    "*",
                    Effect::Deny,
                ),
            ],
        ] {
            let impact = snapshot.impact(service, &edits);
            assert_eq!(
                impact,
                impact_by_every_user(&snapshot, service, &edits),
                "{edits:?}"
            );
            assert!(!impact.is_empty(), "{edits:?}");
        }

        // edits weighed against a state the snapshot does not show yet: a
        // role's deny (not in the snapshot) set again with a new end, and
        // the joiner's own deny, which then loses them nothing
        let stale = [
            CellEdit {
                subject: role.clone(),
                method: "*".to_string(),
                before: Effect::Deny,
                after: Effect::Deny,
            },
            edit(
                &snapshot,
                &Subject::User(joiner.email.clone()),
                "*",
                Effect::Deny,
            ),
        ];
        assert_ne!(
            snapshot.policy.services[service.as_str()].cell(&role, "*"),
            Effect::Deny,
            "the snapshot lags the edits"
        );
        let impact = snapshot.impact(service, &stale);
        assert_eq!(impact, impact_by_every_user(&snapshot, service, &stale));
        assert!(impact.is_empty(), "{impact:?}");
    }
}
