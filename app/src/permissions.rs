//! Permission cells: per service, per user or role, per method or All Methods
//! (`*`). Grant and Deny are rows; Inherit is the absence of a row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decision::Effect;

/// An effect as stored in a permission row (`grant`/`deny`); anything else
/// is no row, Inherit.
pub fn stored_effect(text: &str) -> Effect {
    match text {
        "grant" => Effect::Grant,
        "deny" => Effect::Deny,
        _ => Effect::Inherit,
    }
}

/// The scope key of All Methods in paths and documents.
pub const ALL_METHODS: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Users,
    Roles,
}

impl SubjectKind {
    pub fn parse(text: &str) -> Option<SubjectKind> {
        match text {
            "users" => Some(SubjectKind::Users),
            "roles" => Some(SubjectKind::Roles),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Users => "users",
            SubjectKind::Roles => "roles",
        }
    }
}

/// Method name (or `*`) to effect.
pub type Cells = BTreeMap<String, Effect>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePermissions {
    #[serde(default)]
    pub users: BTreeMap<String, Cells>,
    #[serde(default)]
    pub roles: BTreeMap<String, Cells>,
}

/// The whole permission set, as `GET /console/api/permissions` returns it and
/// `PUT` takes it: absent cells are Inherit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionDocument {
    pub services: BTreeMap<String, ServicePermissions>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectBody {
    pub effect: Effect,
}

/// One cell that changes (or would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellChange {
    pub service: String,
    pub kind: SubjectKind,
    pub subject: String,
    pub method: String,
    pub before: Effect,
    pub after: Effect,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionDiff {
    pub added: Vec<CellChange>,
    pub changed: Vec<CellChange>,
    pub removed: Vec<CellChange>,
    /// False for a dry run.
    pub applied: bool,
}

/// Flattens a document into `(service, kind, subject, method) -> effect`,
/// leaving out Inherit.
pub fn flatten(
    document: &PermissionDocument,
) -> BTreeMap<(String, SubjectKind, String, String), Effect> {
    let mut cells = BTreeMap::new();
    for (service, permissions) in &document.services {
        for (kind, subjects) in [
            (SubjectKind::Users, &permissions.users),
            (SubjectKind::Roles, &permissions.roles),
        ] {
            for (subject, subject_cells) in subjects {
                for (method, effect) in subject_cells {
                    if *effect != Effect::Inherit {
                        cells.insert(
                            (service.clone(), kind, subject.clone(), method.clone()),
                            *effect,
                        );
                    }
                }
            }
        }
    }
    cells
}

/// What turns `current` into `wanted`, cell by cell.
pub fn diff(current: &PermissionDocument, wanted: &PermissionDocument) -> PermissionDiff {
    let old = flatten(current);
    let new = flatten(wanted);
    let change =
        |key: &(String, SubjectKind, String, String), before: Effect, after: Effect| CellChange {
            service: key.0.clone(),
            kind: key.1,
            subject: key.2.clone(),
            method: key.3.clone(),
            before,
            after,
        };
    let mut result = PermissionDiff::default();
    for (key, after) in &new {
        match old.get(key) {
            None => result.added.push(change(key, Effect::Inherit, *after)),
            Some(before) if before != after => result.changed.push(change(key, *before, *after)),
            Some(_) => {}
        }
    }
    for (key, before) in &old {
        if !new.contains_key(key) {
            result.removed.push(change(key, *before, Effect::Inherit));
        }
    }
    result
}

/// One row of a permission matrix: a user or a role and its cells in one
/// service (method name or `*` to effect; absent = Inherit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The email or role name the cell API takes.
    pub subject: String,
    /// A user's name; empty for roles.
    pub label: String,
    pub system: bool,
    pub cells: BTreeMap<String, Effect>,
}

impl MatrixRow {
    pub fn effect(&self, method: &str) -> Effect {
        self.cells.get(method).copied().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixPage {
    pub total: i64,
    pub rows: Vec<MatrixRow>,
}

/// A page of the User Permissions matrix of a service.
#[leptos::server(prefix = "/console/fn", endpoint = "user_matrix")]
pub async fn user_matrix(
    service: String,
    search: String,
    offset: i64,
    limit: i64,
) -> Result<MatrixPage, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_admin().await?;
            ssr::user_matrix(&state.pool, &service, &search, offset, limit).await
        }
        .await,
    )
}

/// The Roles Permissions matrix of a service, system roles first.
#[leptos::server(prefix = "/console/fn", endpoint = "role_matrix")]
pub async fn role_matrix(service: String) -> Result<MatrixPage, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_admin().await?;
            ssr::role_matrix(&state.pool, &service).await
        }
        .await,
    )
}

/// Sets one cell; the runtime enforces it from the next call on.
#[leptos::server(prefix = "/console/fn", endpoint = "set_permission")]
pub async fn set_permission(
    service: String,
    kind: SubjectKind,
    subject: String,
    method: String,
    effect: Effect,
) -> Result<CellChange, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, admin) = crate::admins::ssr::require_admin().await?;
            let actor = crate::audit::ssr::Actor::Admin(admin.email);
            ssr::set_cell(&state, &actor, &service, kind, &subject, &method, effect).await
        }
        .await,
    )
}

/// Sets many cells of one service at once: each `(kind, subject, method)`.
#[leptos::server(prefix = "/console/fn", endpoint = "bulk_set_permissions", input = leptos::server_fn::codec::Json)]
pub async fn bulk_set_permissions(
    service: String,
    cells: Vec<(SubjectKind, String, String)>,
    effect: Effect,
) -> Result<Vec<CellChange>, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, admin) = crate::admins::ssr::require_admin().await?;
            let actor = crate::audit::ssr::Actor::Admin(admin.email);
            ssr::bulk_set(&state, &actor, &service, &cells, effect).await
        }
        .await,
    )
}

/// Imports a permission document (JSON text): a dry run returns the diff;
/// otherwise the whole set is replaced in one transaction.
#[leptos::server(prefix = "/console/fn", endpoint = "import_permissions", input = leptos::server_fn::codec::Json)]
pub async fn import_permissions(
    document: String,
    dry_run: bool,
) -> Result<PermissionDiff, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, admin) = crate::admins::ssr::require_admin().await?;
            let actor = crate::audit::ssr::Actor::Admin(admin.email);
            let parsed: PermissionDocument = serde_json::from_str(&document).map_err(|error| {
                crate::error::AppError::BadInput(format!(
                    "not a permission document, nothing was changed: {error}"
                ))
            })?;
            ssr::replace_all(&state, &actor, &parsed, dry_run).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::json;
    use sqlx::{Any, Row};

    use super::{
        diff, flatten, CellChange, PermissionDiff, PermissionDocument, SubjectKind, ALL_METHODS,
    };
    use crate::admins::ssr::normalize_email;
    use crate::audit::ssr::{record, Actor, Change};
    use crate::db::{now_millis, Pool};
    use crate::decision::{Effect, Subject};
    use crate::error::AppError;
    use crate::state::ConsoleState;

    use super::stored_effect as effect_of;

    fn effect_text(effect: Effect) -> Option<&'static str> {
        match effect {
            Effect::Grant => Some("grant"),
            Effect::Deny => Some("deny"),
            Effect::Inherit => None,
        }
    }

    /// The whole set, keyed by service name, user email and role name.
    pub async fn export(pool: &Pool) -> Result<PermissionDocument, AppError> {
        let mut conn = pool.acquire().await?;
        export_on(&mut conn).await
    }

    /// The same, read on one connection (inside a transaction, say).
    async fn export_on(conn: &mut sqlx::AnyConnection) -> Result<PermissionDocument, AppError> {
        let mut document = PermissionDocument::default();
        let services = sqlx::query("select name from service")
            .fetch_all(&mut *conn)
            .await?;
        for row in services {
            let name: String = row.try_get(0)?;
            document.services.entry(name).or_default();
        }
        let users = sqlx::query(
            "select s.name, u.email, p.method_name, p.effect from user_permission p \
             join service s on s.service_id = p.service_id \
             join app_user u on u.app_user_id = p.app_user_id",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in users {
            let service: String = row.try_get(0)?;
            let effect: String = row.try_get(3)?;
            document
                .services
                .entry(service)
                .or_default()
                .users
                .entry(row.try_get(1)?)
                .or_default()
                .insert(row.try_get(2)?, effect_of(&effect));
        }
        let roles = sqlx::query(
            "select s.name, r.name, p.method_name, p.effect from role_permission p \
             join service s on s.service_id = p.service_id \
             join role r on r.role_id = p.role_id",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in roles {
            let service: String = row.try_get(0)?;
            let effect: String = row.try_get(3)?;
            document
                .services
                .entry(service)
                .or_default()
                .roles
                .entry(row.try_get(1)?)
                .or_default()
                .insert(row.try_get(2)?, effect_of(&effect));
        }
        Ok(document)
    }

    async fn service_id(pool: &Pool, service: &str) -> Result<String, AppError> {
        sqlx::query_scalar("select service_id from service where name = $1")
            .bind(service)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("unknown service `{service}`")))
    }

    /// A page of users (searched by email or name) with their cells in `service`.
    pub async fn user_matrix(
        pool: &Pool,
        service: &str,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> Result<super::MatrixPage, AppError> {
        let service_id = service_id(pool, service).await?;
        let page = crate::users::ssr::list(pool, search, offset, limit).await?;
        let mut rows: Vec<super::MatrixRow> = page
            .items
            .iter()
            .map(|user| super::MatrixRow {
                subject: user.email.clone(),
                label: user.name.clone(),
                system: false,
                cells: Default::default(),
            })
            .collect();
        if !page.items.is_empty() {
            let placeholders: Vec<String> =
                (2..page.items.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                "select u.email, p.method_name, p.effect from user_permission p \
                 join app_user u on u.app_user_id = p.app_user_id \
                 where p.service_id = $1 and p.app_user_id in ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(&service_id);
            for user in &page.items {
                query = query.bind(user.object_id.clone());
            }
            for row in query.fetch_all(pool).await? {
                let email: String = row.try_get(0)?;
                let effect: String = row.try_get(2)?;
                if let Some(matrix_row) = rows.iter_mut().find(|r| r.subject == email) {
                    matrix_row.cells.insert(row.try_get(1)?, effect_of(&effect));
                }
            }
        }
        Ok(super::MatrixPage {
            total: page.total,
            rows,
        })
    }

    /// Every role with its cells in `service`, system roles first.
    pub async fn role_matrix(pool: &Pool, service: &str) -> Result<super::MatrixPage, AppError> {
        let service_id = service_id(pool, service).await?;
        let roles = crate::roles::ssr::list(pool).await?;
        let mut rows: Vec<super::MatrixRow> = roles
            .into_iter()
            .map(|role| super::MatrixRow {
                subject: role.name,
                label: String::new(),
                system: role.system,
                cells: Default::default(),
            })
            .collect();
        for row in sqlx::query(
            "select r.name, p.method_name, p.effect from role_permission p \
             join role r on r.role_id = p.role_id where p.service_id = $1",
        )
        .bind(&service_id)
        .fetch_all(pool)
        .await?
        {
            let name: String = row.try_get(0)?;
            let effect: String = row.try_get(2)?;
            if let Some(matrix_row) = rows.iter_mut().find(|r| r.subject == name) {
                matrix_row.cells.insert(row.try_get(1)?, effect_of(&effect));
            }
        }
        let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        Ok(super::MatrixPage { total, rows })
    }

    /// Ids of everything a cell names; errors say what is unknown.
    struct Resolver {
        services: HashMap<String, (String, Vec<String>)>,
        users: HashMap<String, String>,
        roles: HashMap<String, (String, String)>,
    }

    impl Resolver {
        async fn load(executor: &mut sqlx::AnyConnection) -> Result<Resolver, AppError> {
            let mut services: HashMap<String, (String, Vec<String>)> = HashMap::new();
            for row in sqlx::query(
                "select s.service_id, s.name, m.name from service s \
                 left join service_method m on m.service_id = s.service_id",
            )
            .fetch_all(&mut *executor)
            .await?
            {
                let entry = services
                    .entry(row.try_get(1)?)
                    .or_insert_with(|| (row.try_get(0).unwrap_or_default(), Vec::new()));
                if let Some(method) = row.try_get::<Option<String>, _>(2)? {
                    entry.1.push(method);
                }
            }
            let mut users = HashMap::new();
            for row in sqlx::query("select email, app_user_id from app_user")
                .fetch_all(&mut *executor)
                .await?
            {
                users.insert(row.try_get(0)?, row.try_get(1)?);
            }
            let mut roles = HashMap::new();
            for row in sqlx::query("select name_key, role_id, name from role")
                .fetch_all(&mut *executor)
                .await?
            {
                roles.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
            }
            Ok(Resolver {
                services,
                users,
                roles,
            })
        }

        /// Every name the document uses, cells or not, must exist: a typo in
        /// a service name must not read as "no permissions there".
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
                            SubjectKind::Users => {
                                self.users.contains_key(&normalize_email(subject))
                            }
                            SubjectKind::Roles => {
                                self.roles.contains_key(&subject.trim().to_lowercase())
                            }
                        };
                        if !known {
                            let what = if kind == SubjectKind::Users {
                                "user"
                            } else {
                                "role"
                            };
                            errors.push(format!("unknown {what} `{subject}`"));
                        }
                        for method in cells.keys() {
                            if method != ALL_METHODS && !methods.iter().any(|m| m == method) {
                                errors.push(format!(
                                    "unknown method `{method}` in service `{service}`"
                                ));
                            }
                        }
                    }
                }
            }
            errors
        }

        /// (service id, subject id, canonical subject name) of one cell.
        fn resolve(
            &self,
            service: &str,
            kind: SubjectKind,
            subject: &str,
            method: &str,
        ) -> Result<(String, String, String), String> {
            let (service_id, methods) = self
                .services
                .get(service)
                .ok_or_else(|| format!("unknown service `{service}`"))?;
            if method != ALL_METHODS && !methods.iter().any(|m| m == method) {
                return Err(format!("unknown method `{method}` in service `{service}`"));
            }
            match kind {
                SubjectKind::Users => {
                    let email = normalize_email(subject);
                    let id = self
                        .users
                        .get(&email)
                        .ok_or_else(|| format!("unknown user `{subject}`"))?;
                    Ok((service_id.clone(), id.clone(), email))
                }
                SubjectKind::Roles => {
                    let (id, name) = self
                        .roles
                        .get(&subject.trim().to_lowercase())
                        .ok_or_else(|| format!("unknown role `{subject}`"))?;
                    Ok((service_id.clone(), id.clone(), name.clone()))
                }
            }
        }
    }

    /// What [`Resolver::resolve`] answers for one cell, by indexed lookups
    /// instead of loading every name (one click must not read 10,000 users).
    async fn resolve_one(
        tx: &mut sqlx::Transaction<'_, Any>,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
    ) -> Result<(String, String, String), AppError> {
        let service_id: String =
            sqlx::query_scalar("select service_id from service where name = $1")
                .bind(service)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("unknown service `{service}`")))?;
        if method != ALL_METHODS {
            let known: Option<String> = sqlx::query_scalar(
                "select name from service_method where service_id = $1 and name = $2",
            )
            .bind(&service_id)
            .bind(method)
            .fetch_optional(&mut **tx)
            .await?;
            if known.is_none() {
                return Err(AppError::NotFound(format!(
                    "unknown method `{method}` in service `{service}`"
                )));
            }
        }
        let unknown = |what: &str| AppError::NotFound(format!("unknown {what} `{subject}`"));
        match kind {
            SubjectKind::Users => {
                let email = normalize_email(subject);
                let id: String =
                    sqlx::query_scalar("select app_user_id from app_user where email = $1")
                        .bind(&email)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or_else(|| unknown("user"))?;
                Ok((service_id, id, email))
            }
            SubjectKind::Roles => {
                let row = sqlx::query("select role_id, name from role where name_key = $1")
                    .bind(subject.trim().to_lowercase())
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| unknown("role"))?;
                Ok((service_id, row.try_get(0)?, row.try_get(1)?))
            }
        }
    }

    async fn write_cell(
        tx: &mut sqlx::Transaction<'_, Any>,
        kind: SubjectKind,
        ids: &(String, String, String),
        method: &str,
        effect: Effect,
    ) -> Result<(), sqlx::Error> {
        let (table, column) = match kind {
            SubjectKind::Users => ("user_permission", "app_user_id"),
            SubjectKind::Roles => ("role_permission", "role_id"),
        };
        match effect_text(effect) {
            None => {
                sqlx::query(&format!(
                    "delete from {table} where service_id = $1 and {column} = $2 and method_name = $3"
                ))
                .bind(&ids.0)
                .bind(&ids.1)
                .bind(method)
                .execute(&mut **tx)
                .await?;
            }
            Some(effect) => {
                sqlx::query(&format!(
                    "insert into {table} (service_id, {column}, method_name, effect, updated_at) \
                     values ($1, $2, $3, $4, $5) \
                     on conflict (service_id, {column}, method_name) \
                     do update set effect = excluded.effect, updated_at = excluded.updated_at"
                ))
                .bind(&ids.0)
                .bind(&ids.1)
                .bind(method)
                .bind(effect)
                .bind(now_millis())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    async fn read_cell(
        tx: &mut sqlx::Transaction<'_, Any>,
        kind: SubjectKind,
        ids: &(String, String, String),
        method: &str,
    ) -> Result<Effect, sqlx::Error> {
        let (table, column) = match kind {
            SubjectKind::Users => ("user_permission", "app_user_id"),
            SubjectKind::Roles => ("role_permission", "role_id"),
        };
        let effect: Option<String> = sqlx::query_scalar(&format!(
            "select effect from {table} where service_id = $1 and {column} = $2 and method_name = $3"
        ))
        .bind(&ids.0)
        .bind(&ids.1)
        .bind(method)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(effect.as_deref().map(effect_of).unwrap_or(Effect::Inherit))
    }

    /// Sets one cell and returns what changed.
    pub async fn set_cell(
        state: &ConsoleState,
        actor: &Actor,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
        effect: Effect,
    ) -> Result<CellChange, AppError> {
        let mut tx = state.pool.begin().await?;
        let ids = resolve_one(&mut tx, service, kind, subject, method).await?;
        let before = read_cell(&mut tx, kind, &ids, method).await?;
        let change = CellChange {
            service: service.to_string(),
            kind,
            subject: ids.2.clone(),
            method: method.to_string(),
            before,
            after: effect,
        };
        if before != effect {
            write_cell(&mut tx, kind, &ids, method, effect).await?;
            record(
                &mut tx,
                actor,
                Change {
                    action: "permission.set",
                    target: format!("{}:{}", kind.as_str(), ids.2),
                    service: Some(service),
                    before: Some(json!({ method: before })),
                    after: Some(json!({ method: effect })),
                },
            )
            .await?;
        }
        let version = if before != effect {
            Some(crate::gateway::Gateway::count_change(&mut tx).await?)
        } else {
            None
        };
        tx.commit().await?;
        if let Some(version) = version {
            let subject = match kind {
                SubjectKind::Users => Subject::User(ids.2.clone()),
                SubjectKind::Roles => Subject::Role(ids.2.clone()),
            };
            let cell = crate::gateway::CellKey {
                service_id: &ids.0,
                service,
                subject_id: &ids.1,
                subject: &subject,
                method,
            };
            state
                .gateway
                .cell_changed(&state.pool, version, &cell)
                .await?;
        }
        Ok(change)
    }

    /// Sets many cells of one service to one effect, in one transaction and
    /// one audit event; returns the cells that changed.
    pub async fn bulk_set(
        state: &ConsoleState,
        actor: &Actor,
        service: &str,
        cells: &[(SubjectKind, String, String)],
        effect: Effect,
    ) -> Result<Vec<CellChange>, AppError> {
        if cells.len() > 10_000 {
            return Err(AppError::BadInput(
                "a bulk edit changes at most 10,000 cells".to_string(),
            ));
        }
        let mut tx = state.pool.begin().await?;
        let resolver = Resolver::load(&mut tx).await?;
        let mut changes = Vec::new();
        for (kind, subject, method) in cells {
            let ids = resolver
                .resolve(service, *kind, subject, method)
                .map_err(AppError::NotFound)?;
            let before = read_cell(&mut tx, *kind, &ids, method).await?;
            if before != effect {
                write_cell(&mut tx, *kind, &ids, method, effect).await?;
                changes.push(CellChange {
                    service: service.to_string(),
                    kind: *kind,
                    subject: ids.2.clone(),
                    method: method.clone(),
                    before,
                    after: effect,
                });
            }
        }
        if !changes.is_empty() {
            record(
                &mut tx,
                actor,
                Change {
                    action: "permission.bulk",
                    target: format!("{} cells", changes.len()),
                    service: Some(service),
                    before: Some(serde_json::to_value(&changes).unwrap_or_default()),
                    after: Some(json!({ "effect": effect })),
                },
            )
            .await?;
        }
        if !changes.is_empty() {
            crate::gateway::Gateway::count_change(&mut tx).await?;
        }
        tx.commit().await?;
        if !changes.is_empty() {
            state.gateway.reload(&state.pool).await?;
        }
        Ok(changes)
    }

    /// Replaces the whole set with `wanted`, in one transaction and one audit
    /// event; with `dry_run`, only says what would change. Any unknown
    /// service, method, user or role refuses the whole document.
    pub async fn replace_all(
        state: &ConsoleState,
        actor: &Actor,
        wanted: &PermissionDocument,
        dry_run: bool,
    ) -> Result<PermissionDiff, AppError> {
        let mut tx = state.pool.begin().await?;
        let resolver = Resolver::load(&mut tx).await?;
        let mut errors = resolver.unknown_names(wanted);
        let mut resolved: BTreeMap<_, ((String, String, String), Effect)> = BTreeMap::new();
        for ((service, kind, subject, method), effect) in flatten(wanted) {
            match resolver.resolve(&service, kind, &subject, &method) {
                Ok(ids) => {
                    // the canonical names, so `Alice@X` and `alice@x` are one cell
                    let key = (service.clone(), kind, ids.2.clone(), method.clone());
                    if resolved
                        .get(&key)
                        .is_some_and(|(_, other)| *other != effect)
                    {
                        errors.push(format!(
                            "`{subject}` is named twice in service `{service}` with different effects on `{method}`"
                        ));
                    }
                    resolved.insert(key, (ids, effect));
                }
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            errors.sort();
            errors.dedup();
            return Err(AppError::BadInput(format!(
                "the document is refused, nothing was changed: {}",
                errors.join("; ")
            )));
        }
        let mut canonical = PermissionDocument::default();
        for ((service, kind, subject, method), (_, effect)) in &resolved {
            let entry = canonical.services.entry(service.clone()).or_default();
            let subjects = match kind {
                SubjectKind::Users => &mut entry.users,
                SubjectKind::Roles => &mut entry.roles,
            };
            subjects
                .entry(subject.clone())
                .or_default()
                .insert(method.clone(), *effect);
        }
        let current = export_on(&mut tx).await?;
        let mut result = diff(&current, &canonical);
        if dry_run {
            return Ok(result);
        }
        sqlx::query("delete from user_permission")
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from role_permission")
            .execute(&mut *tx)
            .await?;
        for ((_, kind, _, method), (ids, effect)) in &resolved {
            write_cell(&mut tx, *kind, ids, method, *effect).await?;
        }
        record(
            &mut tx,
            actor,
            Change {
                action: "permission.import",
                target: "permissions".to_string(),
                service: None,
                before: Some(serde_json::to_value(&current).unwrap_or_default()),
                after: Some(serde_json::to_value(&canonical).unwrap_or_default()),
            },
        )
        .await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        result.applied = true;
        Ok(result)
    }
}
