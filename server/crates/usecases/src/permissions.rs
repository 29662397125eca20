//! Permission cells: the matrices, one cell, many cells, and the whole set
//! as a document (permissions as code).

use std::collections::{BTreeMap, HashMap};

use policy::cells::{
    diff, flatten, BulkEdit, Cell, CellAddress, CellChange, CellSet, PermissionDiff,
    PermissionDocument, SubjectKind, ALL_METHODS,
};
use policy::decision::Effect;
use policy::impact::ServiceImpact;
use policy::names::{normalize_email, role_key};
use policy::suites::{PermissionTest, TestReport};
use policy::wire::{MatrixPage, MatrixRow};
use runtime::snapshot::{subject_of, CellEdit, Snapshot};
use runtime::ChangedCell;
use serde_json::json;
use store::permissions::CellIds;
use store::Conn;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// Largest number of cells one bulk edit changes.
pub const MAX_BULK_CELLS: usize = 10_000;

/// The whole set, keyed by service name, user email and role name.
pub async fn export(console: &Console) -> Result<PermissionDocument, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    Ok(store::permissions::export(&mut conn, &console.app).await?)
}

async fn service_id(console: &Console, service: &str) -> Result<String, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    store::services::id_of(&mut conn, &console.app, service)
        .await?
        .ok_or_else(|| Error::NotFound(format!("unknown service `{service}`")))
}

/// A page of users (searched by email or name) with their cells in `service`.
pub async fn user_matrix(
    console: &Console,
    service: &str,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<MatrixPage, Error> {
    let service_id = service_id(console, service).await?;
    let page = crate::users::list(console, search, offset, limit).await?;
    let mut rows: Vec<MatrixRow> = page
        .items
        .iter()
        .map(|user| MatrixRow {
            subject: user.email.clone(),
            label: user.name.clone(),
            system: false,
            cells: BTreeMap::new(),
            ends: BTreeMap::new(),
        })
        .collect();
    let ids: Vec<String> = page
        .items
        .iter()
        .map(|user| user.object_id.clone())
        .collect();
    for (email, method, cell) in
        store::permissions::user_cells(&console.pool, &service_id, &ids).await?
    {
        if let Some(row) = rows.iter_mut().find(|row| row.subject == email) {
            row.put(method, cell);
        }
    }
    Ok(MatrixPage {
        total: page.total,
        rows,
    })
}

/// Every role with its cells in `service`, system roles first.
pub async fn role_matrix(console: &Console, service: &str) -> Result<MatrixPage, Error> {
    let service_id = service_id(console, service).await?;
    let mut rows: Vec<MatrixRow> = crate::roles::list(console)
        .await?
        .into_iter()
        .map(|role| MatrixRow {
            subject: role.name,
            label: String::new(),
            system: role.system,
            cells: BTreeMap::new(),
            ends: BTreeMap::new(),
        })
        .collect();
    for (name, method, cell) in store::permissions::role_cells(&console.pool, &service_id).await? {
        if let Some(row) = rows.iter_mut().find(|row| row.subject == name) {
            row.put(method, cell);
        }
    }
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    Ok(MatrixPage { total, rows })
}

/// A cell resolved to the ids it is stored under and its subject's
/// canonical name (`Alice@X` and `alice@x` are one user).
struct Resolved {
    ids: CellIds,
    subject: String,
}

/// What [`Names::resolve`] answers for one cell, from one indexed read
/// instead of loading every name (one click must not read 10,000 users):
/// the cell's ids and its state now; errors name what is unknown, the
/// service first.
async fn resolve_one(
    conn: &mut Conn,
    app: &str,
    service: &str,
    kind: SubjectKind,
    subject: &str,
    method: &str,
) -> Result<(Resolved, Result<Cell, store::StoreError>), Error> {
    let located = store::permissions::locate(conn, app, service, kind, subject, method).await?;
    let before = located.cell();
    let Some(service_id) = located.service_id else {
        return Err(Error::NotFound(format!("unknown service `{service}`")));
    };
    if method != ALL_METHODS && !located.method_known {
        return Err(Error::NotFound(format!(
            "unknown method `{method}` in service `{service}`"
        )));
    }
    let Some((subject_id, name)) = located.subject else {
        return Err(Error::NotFound(format!(
            "unknown {} `{subject}`",
            kind.singular()
        )));
    };
    let resolved = Resolved {
        ids: CellIds {
            service_id,
            subject_id,
        },
        subject: name,
    };
    Ok((resolved, before))
}

/// What these cell changes do to who may call what, judged on the
/// snapshot as it was before them.
fn impact_of(
    snapshot: &Snapshot,
    service: &str,
    changes: &[CellChange],
) -> Vec<policy::impact::MethodImpact> {
    let edits: Vec<CellEdit> = changes
        .iter()
        .map(|change| CellEdit {
            subject: subject_of(change.kind, &change.subject),
            method: change.method.clone(),
            before: change.before,
            after: change.after,
        })
        .collect();
    snapshot.impact(service, &edits)
}

/// Most ended cells one change deletes (the expirer's next round takes
/// the rest).
pub(crate) const EXPIRE_AT_ONCE: i64 = 1_000;

/// Deletes the application's cells whose end has come, inside `change`,
/// each audited as `permission.expire` by the system: the expirer's work,
/// and the first step of every change that writes cells, so no expiry
/// goes unrecorded because a change overwrote its row first. How many.
pub(crate) async fn expire_ended(
    change: &mut Change<'_>,
    app: &str,
    now: i64,
) -> Result<usize, Error> {
    let ended =
        store::permissions::ended_cells(change.conn(), Some(app), now, EXPIRE_AT_ONCE).await?;
    let mut deleted = 0;
    for ended in ended {
        let cell = &ended.cell;
        let gone = store::permissions::delete_ended(
            change.conn(),
            cell.kind,
            &ended.ids,
            &cell.method,
            now,
        )
        .await?;
        if !gone {
            // set again meanwhile, or another server got to it
            continue;
        }
        change
            .audit_by(
                &Actor::System,
                Event {
                    action: "permission.expire",
                    target: format!("{}:{}", cell.kind.as_str(), cell.subject),
                    service: Some(&cell.service),
                    before: Some(json!({ &cell.method: cell.cell() })),
                    after: Some(json!({ &cell.method: Effect::Inherit })),
                },
            )
            .await?;
        change.cell_changed(ChangedCell {
            ids: ended.ids.clone(),
            service: cell.service.clone(),
            kind: cell.kind,
            subject: cell.subject.clone(),
            method: cell.method.clone(),
        });
        deleted += 1;
    }
    Ok(deleted)
}

/// Refuses an end on Inherit, or one that has come already.
fn check_end(cell: Cell, now: i64) -> Result<(), Error> {
    let Some(until) = cell.until else {
        return Ok(());
    };
    if cell.effect == Effect::Inherit {
        return Err(Error::BadInput(
            "only a grant or a deny can have an end (`until`); inherit has none".to_string(),
        ));
    }
    if until.0 <= now {
        return Err(Error::BadInput(format!(
            "`until` must be in the future: `{until}` has passed"
        )));
    }
    Ok(())
}

/// Sets one cell (an effect, or an effect with its end) and returns what
/// changed, with its impact on who may call what; the runtime enforces it
/// from the next call on, and its end to the millisecond.
pub async fn set_cell(
    console: &Console,
    actor: &Actor,
    service: &str,
    kind: SubjectKind,
    subject: &str,
    method: &str,
    cell: impl Into<Cell>,
) -> Result<CellSet, Error> {
    let cell: Cell = cell.into();
    check_end(cell, store::now_millis())?;
    let effect = cell.effect;
    let mut change = Change::begin(console, actor).await?;
    change.serialize().await?;
    // once earlier changes are in: the end must still be ahead
    let now = store::now_millis();
    check_end(cell, now)?;
    expire_ended(&mut change, &console.app, now).await?;
    // read once every earlier change has committed
    let snapshot = console.app_snapshot()?;
    let (resolved, before) =
        resolve_one(change.conn(), &console.app, service, kind, subject, method).await?;
    // a cell whose stored effect is unreadable is repaired by setting it
    let (before, unreadable) = match before {
        Ok(before) => (before, None),
        Err(store::StoreError::Unreadable(bad)) => (Cell::from(Effect::Inherit), Some(bad.0)),
        Err(other) => return Err(other.into()),
    };
    let cell_change = CellChange {
        service: service.to_string(),
        kind,
        subject: resolved.subject.clone(),
        method: method.to_string(),
        before: before.effect,
        after: effect,
        before_until: before.until,
        until: cell.until,
    };
    if before == cell && unreadable.is_none() {
        return Ok(CellSet {
            change: cell_change,
            impact: Vec::new(),
        });
    }
    store::permissions::write(
        change.conn(),
        kind,
        &resolved.ids,
        method,
        cell,
        store::now_millis(),
    )
    .await?;
    change
        .audit(Event {
            action: "permission.set",
            target: format!("{}:{}", kind.as_str(), resolved.subject),
            service: Some(service),
            before: Some(match &unreadable {
                Some(bad) => json!({ method: format!("unreadable `{bad}`") }),
                None => json!({ method: before }),
            }),
            after: Some(json!({ method: cell })),
        })
        .await?;
    change.cell_changed(ChangedCell {
        ids: resolved.ids,
        service: service.to_string(),
        kind,
        subject: resolved.subject,
        method: method.to_string(),
    });
    change.commit().await?;
    let impact = impact_of(&snapshot, service, std::slice::from_ref(&cell_change));
    Ok(CellSet {
        change: cell_change,
        impact,
    })
}

/// What a document's diff does to who may call what, service by service.
fn document_impact(snapshot: &Snapshot, diff: &PermissionDiff) -> Vec<ServiceImpact> {
    let mut by_service: BTreeMap<&str, Vec<CellChange>> = BTreeMap::new();
    for change in diff.added.iter().chain(&diff.changed).chain(&diff.removed) {
        by_service
            .entry(change.service.as_str())
            .or_default()
            .push(change.clone());
    }
    by_service
        .into_iter()
        .map(|(service, changes)| ServiceImpact {
            service: service.to_string(),
            methods: impact_of(snapshot, service, &changes),
        })
        .filter(|impact| !impact.methods.is_empty())
        .collect()
}

/// Ids of everything a document may name, loaded at once; errors say what
/// is unknown.
struct Names {
    /// service -> (id, methods)
    services: HashMap<String, (String, Vec<String>)>,
    /// email -> id
    users: HashMap<String, String>,
    /// lowercase name -> (id, name)
    roles: HashMap<String, (String, String)>,
}

impl Names {
    async fn load(conn: &mut Conn, app: &str) -> Result<Names, Error> {
        let mut services: HashMap<String, (String, Vec<String>)> = HashMap::new();
        for (id, service, method) in store::services::all_methods(conn, app).await? {
            let entry = services.entry(service).or_insert_with(|| (id, Vec::new()));
            if let Some(method) = method {
                entry.1.push(method);
            }
        }
        let users = store::users::ids_by_email(conn, app)
            .await?
            .into_iter()
            .collect();
        let roles = store::roles::all(conn, app)
            .await?
            .into_iter()
            .map(|role| (role_key(&role.name), (role.role_id, role.name)))
            .collect();
        Ok(Names {
            services,
            users,
            roles,
        })
    }

    fn resolve(
        &self,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
    ) -> Result<Resolved, String> {
        let (service_id, methods) = self
            .services
            .get(service)
            .ok_or_else(|| format!("unknown service `{service}`"))?;
        if method != ALL_METHODS && !methods.iter().any(|m| m == method) {
            return Err(format!("unknown method `{method}` in service `{service}`"));
        }
        let (subject_id, name) = match kind {
            SubjectKind::Users => {
                let email = normalize_email(subject);
                let id = self
                    .users
                    .get(&email)
                    .ok_or_else(|| format!("unknown user `{subject}`"))?;
                (id.clone(), email)
            }
            SubjectKind::Roles => {
                let (id, name) = self
                    .roles
                    .get(&role_key(subject))
                    .ok_or_else(|| format!("unknown role `{subject}`"))?;
                (id.clone(), name.clone())
            }
        };
        Ok(Resolved {
            ids: CellIds {
                service_id: service_id.clone(),
                subject_id,
            },
            subject: name,
        })
    }

    /// Every unknown name in a document, each once, including subjects
    /// whose cells are all Inherit.
    fn unknown_names(&self, document: &PermissionDocument) -> Vec<String> {
        let mut errors = Vec::new();
        for (service, permissions) in &document.services {
            let Some((_, methods)) = self.services.get(service) else {
                errors.push(format!("unknown service `{service}`"));
                continue;
            };
            for (kind, subjects) in [
                (SubjectKind::Users, &permissions.users),
                (SubjectKind::Roles, &permissions.roles),
            ] {
                for (subject, cells) in subjects {
                    let known = match kind {
                        SubjectKind::Users => self.users.contains_key(&normalize_email(subject)),
                        SubjectKind::Roles => self.roles.contains_key(&role_key(subject)),
                    };
                    if !known {
                        errors.push(format!("unknown {} `{subject}`", kind.singular()));
                    }
                    for method in cells.keys() {
                        if method != ALL_METHODS && !methods.iter().any(|m| m == method) {
                            errors
                                .push(format!("unknown method `{method}` in service `{service}`"));
                        }
                    }
                }
            }
        }
        errors
    }
}

/// Sets many cells of one service to one effect, in one change and one
/// audit event; returns the cells that changed and their impact. With
/// `dry_run`, only says what would change.
pub async fn bulk_set(
    console: &Console,
    actor: &Actor,
    service: &str,
    cells: &[(SubjectKind, String, String)],
    effect: Effect,
    dry_run: bool,
) -> Result<BulkEdit, Error> {
    if cells.len() > MAX_BULK_CELLS {
        return Err(Error::BadInput(
            "a bulk edit changes at most 10,000 cells".to_string(),
        ));
    }
    let mut change = Change::begin(console, actor).await?;
    let now = store::now_millis();
    if !dry_run {
        change.serialize().await?;
        expire_ended(&mut change, &console.app, now).await?;
    }
    let snapshot = console.app_snapshot()?;
    let names = Names::load(change.conn(), &console.app).await?;
    let mut changes: Vec<CellChange> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (kind, subject, method) in cells {
        let resolved = names
            .resolve(service, *kind, subject, method)
            .map_err(Error::NotFound)?;
        let before = store::permissions::read(change.conn(), *kind, &resolved.ids, method).await?;
        // a cell named twice changes once (a dry run reads the old state twice)
        let first = seen.insert((*kind, resolved.subject.clone(), method.clone()));
        // a time-limited cell set to its own effect loses its end
        if before != Cell::from(effect) && first {
            if !dry_run {
                store::permissions::write(change.conn(), *kind, &resolved.ids, method, effect, now)
                    .await?;
            }
            changes.push(CellChange {
                service: service.to_string(),
                kind: *kind,
                subject: resolved.subject,
                method: method.clone(),
                before: before.effect,
                after: effect,
                before_until: before.until,
                until: None,
            });
        }
    }
    let impact = impact_of(&snapshot, service, &changes);
    if changes.is_empty() || dry_run {
        return Ok(BulkEdit {
            changes,
            impact,
            applied: false,
        });
    }
    change
        .audit(Event {
            action: "permission.bulk",
            target: format!("{} cells", changes.len()),
            service: Some(service),
            before: Some(serde_json::to_value(&changes).unwrap_or_default()),
            after: Some(json!({ "effect": effect })),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(BulkEdit {
        changes,
        impact,
        applied: true,
    })
}

/// A document checked against the application's names: each cell with
/// the ids it is stored under, and the document in canonical names.
struct Checked {
    resolved: BTreeMap<CellAddress, (Resolved, Cell)>,
    canonical: PermissionDocument,
}

/// Checks every name of `wanted`; any unknown service, method, user or role
/// (or one cell named twice with different effects, or an end on
/// Inherit) refuses it whole. A cell whose end has passed is Inherit, as
/// the live set would have it by now.
fn check_document(names: &Names, wanted: &PermissionDocument) -> Result<Checked, Error> {
    let mut errors = names.unknown_names(wanted);
    let mut resolved: BTreeMap<CellAddress, (Resolved, Cell)> = BTreeMap::new();
    let now = store::now_millis();
    for (service, permissions) in &wanted.services {
        for (subject, cells) in permissions.users.iter().chain(&permissions.roles) {
            for (method, cell) in cells {
                if cell.effect == Effect::Inherit && cell.until.is_some() {
                    errors.push(format!(
                        "`{subject}` in service `{service}` has an end on `{method}`, which is inherit: only a grant or a deny can end"
                    ));
                }
            }
        }
    }
    for ((service, kind, subject, method), effect) in flatten(wanted) {
        if effect.until.is_some_and(|until| until.0 <= now) {
            continue;
        }
        match names.resolve(&service, kind, &subject, &method) {
            Ok(cell) => {
                // the canonical names, so `Alice@X` and `alice@x` are one cell
                let key = (service.clone(), kind, cell.subject.clone(), method.clone());
                if resolved
                    .get(&key)
                    .is_some_and(|(_, other)| *other != effect)
                {
                    errors.push(format!(
                        "`{subject}` is named twice in service `{service}` with different effects on `{method}`"
                    ));
                }
                resolved.insert(key, (cell, effect));
            }
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        errors.sort();
        errors.dedup();
        return Err(Error::BadInput(format!(
            "the document is refused, nothing was changed: {}",
            errors.join("; ")
        )));
    }
    let mut canonical = PermissionDocument::default();
    for ((service, kind, subject, method), (_, cell)) in &resolved {
        canonical.insert_cell(service, *kind, subject, method, *cell);
    }
    Ok(Checked {
        resolved,
        canonical,
    })
}

/// Runs permission tests (`tests`, else every saved suite) against
/// `document` (else the live permissions); a document naming anything
/// unknown is refused as an import would be.
pub async fn test(
    console: &Console,
    tests: Option<Vec<PermissionTest>>,
    document: Option<PermissionDocument>,
) -> Result<TestReport, Error> {
    let snapshot = console.app_snapshot()?;
    let proposed = match document {
        Some(document) => {
            let mut conn = store::acquire(&console.pool).await?;
            let names = Names::load(&mut conn, &console.app).await?;
            drop(conn);
            Some(
                check_document(&names, &document)?
                    .canonical
                    .over(&snapshot.policy),
            )
        }
        None => None,
    };
    let policy = proposed.as_ref().unwrap_or(&snapshot.policy);
    crate::suites::run_on(console, &snapshot, policy, tests).await
}

/// Replaces the whole set with `wanted`, in one change and one audit
/// event; with `dry_run`, only says what would change. Any unknown
/// service, method, user or role refuses the whole document. The saved
/// permission tests run against it: a failure refuses it unless `force`.
pub async fn replace_all(
    console: &Console,
    actor: &Actor,
    wanted: &PermissionDocument,
    dry_run: bool,
    force: bool,
) -> Result<PermissionDiff, Error> {
    let mut change = Change::begin(console, actor).await?;
    if !dry_run {
        change.serialize().await?;
        expire_ended(&mut change, &console.app, store::now_millis()).await?;
    }
    let names = Names::load(change.conn(), &console.app).await?;
    let Checked {
        resolved,
        canonical,
    } = check_document(&names, wanted)?;
    let current = store::permissions::export(change.conn(), &console.app).await?;
    let mut result = diff(&current, &canonical);
    let snapshot = console.app_snapshot()?;
    result.impact = document_impact(&snapshot, &result);
    let suites = crate::suites::saved(change.conn(), &console.app).await?;
    if !suites.is_empty() {
        // the roles as this transaction reads them
        let roles = names
            .roles
            .iter()
            .map(|(key, (_, name))| (key.clone(), name.clone()))
            .collect();
        let callers = crate::suites::Callers::new(roles, &snapshot);
        result.tests = Some(crate::suites::run_saved(
            &callers,
            &canonical.over(&snapshot.policy),
            &suites,
        ));
    }
    if dry_run {
        return Ok(result);
    }
    if let Some(report) = result
        .tests
        .as_ref()
        .filter(|r| !r.failed.is_empty() && !force)
    {
        let first: Vec<String> = report
            .failed
            .iter()
            .take(3)
            .map(|failure| format!("{} (got {})", failure.test.describe(), failure.got))
            .collect();
        return Err(Error::Conflict(format!(
            "the document breaks {} saved permission test{}, nothing was changed: {}; fix the document or the tests, or apply it with force",
            report.failed.len(),
            if report.failed.len() == 1 { "" } else { "s" },
            first.join("; ")
        )));
    }
    store::permissions::delete_all(change.conn(), &console.app).await?;
    let now = store::now_millis();
    for ((_, kind, _, method), (cell, effect)) in &resolved {
        store::permissions::write(change.conn(), *kind, &cell.ids, method, *effect, now).await?;
    }
    change
        .audit(Event {
            action: "permission.import",
            target: "permissions".to_string(),
            service: None,
            before: Some(serde_json::to_value(&current).unwrap_or_default()),
            after: Some(serde_json::to_value(&canonical).unwrap_or_default()),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    result.applied = true;
    Ok(result)
}
