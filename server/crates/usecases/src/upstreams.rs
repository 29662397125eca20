//! HTTP upstream services (DESIGN section 9): created by hand or from an
//! OpenAPI document, changed, deleted, their signing secret rotated. Each
//! is one change: one transaction, one audit event.

use policy::cells::{SubjectKind, ALL_METHODS};
use policy::decision::Effect;
use policy::names::NOT_AUTHENTICATED;
use policy::upstream::{
    check_base_url, check_methods, check_service_name, check_timeout, diff_methods, Created,
    ImportReport, ImportRequest, MethodsReport, NewService, ServiceChanges, Updated,
};
use policy::wire::{Method, Service, ServiceKind, UpstreamSettings};
use runtime::signing::UpstreamSecret;
use serde_json::json;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

fn bad(message: String) -> Error {
    Error::BadInput(message)
}

fn taken(error: store::StoreError, name: &str) -> Error {
    match error {
        store::StoreError::Duplicate(store::Unique::ServiceName) => {
            Error::Conflict(format!("a service named `{name}` already exists"))
        }
        other => other.into(),
    }
}

/// A service as stored now, inside the change.
async fn stored(change: &mut Change<'_>, app: &str, name: &str) -> Result<Option<Service>, Error> {
    Ok(store::services::catalog(change.conn(), app)
        .await?
        .into_iter()
        .find(|service| service.name == name))
}

/// The service as stored, inside the change; a built-in service is refused.
async fn http_service(
    change: &mut Change<'_>,
    app: &str,
    name: &str,
) -> Result<(String, Service), Error> {
    let service = stored(change, app, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("unknown service `{name}`")))?;
    if service.kind != ServiceKind::Http {
        return Err(Error::Forbidden(format!(
            "`{name}` is built into the server: its methods come from the server's code"
        )));
    }
    let id = store::services::id_of(change.conn(), app, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("unknown service `{name}`")))?;
    Ok((id, service))
}

/// Creates an HTTP upstream service with its methods and a new secret.
pub async fn create(console: &Console, actor: &Actor, new: NewService) -> Result<Created, Error> {
    let name = check_service_name(&new.name).map_err(bad)?;
    let settings = UpstreamSettings {
        base_url: check_base_url(&new.base_url).map_err(bad)?,
        timeout_ms: check_timeout(new.timeout_ms).map_err(bad)?,
        new_methods_deny_anonymous: new.new_methods_deny_anonymous,
    };
    let methods = check_methods(new.methods).map_err(bad)?;
    let mut change = Change::begin(console, actor).await?;
    // reads, then writes what it read: one change at a time
    change.serialize().await?;
    let (report, secret) = insert_new(
        &mut change,
        console,
        &name,
        new.description.trim(),
        &settings,
        &methods,
    )
    .await?;
    change
        .audit(Event {
            action: "service.create",
            target: format!("service:{name}"),
            service: Some(&name),
            before: None,
            after: Some(json!({
                "kind": "http",
                "settings": settings,
                "methods": report.diff.added,
                "anonymous": report.anonymous,
            })),
        })
        .await?;
    let service = stored(&mut change, &console.app, &name)
        .await?
        .ok_or(Error::Internal)?;
    change.policy_changed();
    change.commit().await?;
    Ok(Created { service, secret })
}

/// A new HTTP service with its methods and a new secret, inside `change`;
/// what its methods' writing did, and the secret.
async fn insert_new(
    change: &mut Change<'_>,
    console: &Console,
    name: &str,
    description: &str,
    settings: &UpstreamSettings,
    methods: &[Method],
) -> Result<(MethodsReport, String), Error> {
    let secret = UpstreamSecret::generate();
    let id = store::new_object_id();
    store::services::insert_http(
        change.conn(),
        &console.app,
        &store::services::NewHttpService {
            service_id: &id,
            name,
            description,
            settings,
            secret: secret.reveal(),
        },
        store::now_millis(),
    )
    .await
    .map_err(|error| taken(error, name))?;
    let report = write_methods(change, console, &id, name, &[], methods, settings).await?;
    Ok((report, secret.reveal().to_string()))
}

/// Replaces a service's methods by `next` inside `change`: removed methods
/// go with their cells, new ones start as Inherit, or with a Deny for
/// `NotAuthenticatedUser` when the service says so.
pub(crate) async fn write_methods(
    change: &mut Change<'_>,
    console: &Console,
    service_id: &str,
    service: &str,
    current: &[Method],
    next: &[Method],
    settings: &UpstreamSettings,
) -> Result<MethodsReport, Error> {
    let report = methods_report(change, console, service, current, next, settings).await?;
    for name in &report.diff.removed {
        store::services::delete_method(change.conn(), service_id, name).await?;
    }
    for (position, method) in next.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        store::services::upsert_method(change.conn(), service_id, method, position).await?;
    }
    if settings.new_methods_deny_anonymous && !report.diff.added.is_empty() {
        let role = store::roles::find(change.conn(), &console.app, NOT_AUTHENTICATED)
            .await?
            .ok_or(Error::Internal)?;
        let ids = store::permissions::CellIds {
            service_id: service_id.to_string(),
            subject_id: role.role_id,
        };
        let now = store::now_millis();
        for name in &report.diff.added {
            store::permissions::write(
                change.conn(),
                SubjectKind::Roles,
                &ids,
                name,
                Effect::Deny,
                now,
            )
            .await?;
        }
    }
    Ok(report)
}

/// The diff from `current` to `next`, the cells removed methods take with
/// them, and who may call what anonymously afterwards.
async fn methods_report(
    change: &mut Change<'_>,
    console: &Console,
    service: &str,
    current: &[Method],
    next: &[Method],
    settings: &UpstreamSettings,
) -> Result<MethodsReport, Error> {
    let diff = diff_methods(current, next);
    let cells = store::permissions::live(change.conn(), &console.app)
        .await?
        .into_iter()
        .filter(|cell| cell.service == service)
        .collect::<Vec<_>>();
    let cells_removed = cells
        .iter()
        .filter(|cell| diff.removed.contains(&cell.method))
        .map(|cell| {
            json!({"kind": cell.kind, "subject": cell.subject, "method": cell.method, "effect": cell.effect})
        })
        .collect();
    let anonymous_cell = |method: &str| {
        cells
            .iter()
            .find(|cell| {
                cell.kind == SubjectKind::Roles
                    && cell.subject == NOT_AUTHENTICATED
                    && cell.method == method
            })
            .map(|cell| cell.effect)
    };
    let all_methods = anonymous_cell(ALL_METHODS);
    let anonymous = next
        .iter()
        .filter(|method| {
            let added = diff.added.contains(&method.name);
            let own = if added && settings.new_methods_deny_anonymous {
                Some(Effect::Deny)
            } else if added {
                None
            } else {
                anonymous_cell(&method.name)
            };
            // the rule: the method's own state unless Inherit, then All Methods
            let effect = own
                .filter(|effect| *effect != Effect::Inherit)
                .or(all_methods);
            effect != Some(Effect::Deny)
        })
        .map(|method| method.name.clone())
        .collect();
    Ok(MethodsReport {
        diff,
        cells_removed,
        anonymous,
    })
}

/// Changes a service's description, settings or methods (a method list
/// replaces them all).
pub async fn update(
    console: &Console,
    actor: &Actor,
    name: &str,
    changes: ServiceChanges,
) -> Result<Updated, Error> {
    let next_methods = changes
        .methods
        .map(check_methods)
        .transpose()
        .map_err(bad)?;
    let mut change = Change::begin(console, actor).await?;
    // reads, then writes what it read: one change at a time
    change.serialize().await?;
    let (id, current) = http_service(&mut change, &console.app, name).await?;
    let before = current.upstream.clone().ok_or(Error::Internal)?;
    let settings = UpstreamSettings {
        base_url: match &changes.base_url {
            Some(url) => check_base_url(url).map_err(bad)?,
            None => before.base_url.clone(),
        },
        timeout_ms: match changes.timeout_ms {
            Some(ms) => check_timeout(Some(ms)).map_err(bad)?,
            None => before.timeout_ms,
        },
        new_methods_deny_anonymous: changes
            .new_methods_deny_anonymous
            .unwrap_or(before.new_methods_deny_anonymous),
    };
    let description = changes
        .description
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.description)
        .to_string();
    store::services::update_http(
        change.conn(),
        &id,
        &description,
        &settings,
        store::now_millis(),
    )
    .await?;
    let report = match &next_methods {
        Some(next) => {
            write_methods(
                &mut change,
                console,
                &id,
                name,
                &current.methods,
                next,
                &settings,
            )
            .await?
        }
        None => MethodsReport::default(),
    };
    change
        .audit(Event {
            action: "service.update",
            target: format!("service:{name}"),
            service: Some(name),
            before: Some(json!({"description": current.description, "settings": before})),
            after: Some(json!({
                "description": description,
                "settings": settings,
                "methods": report,
            })),
        })
        .await?;
    let service = stored(&mut change, &console.app, name)
        .await?
        .ok_or(Error::Internal)?;
    change.policy_changed();
    change.commit().await?;
    Ok(Updated {
        service,
        methods: report,
    })
}

/// Deletes an HTTP upstream service with its methods and every cell on it;
/// answers how many cells went.
pub async fn delete(console: &Console, actor: &Actor, name: &str) -> Result<usize, Error> {
    let mut change = Change::begin(console, actor).await?;
    // reads, then writes what it read: one change at a time
    change.serialize().await?;
    let (id, service) = http_service(&mut change, &console.app, name).await?;
    let cells: Vec<_> = store::permissions::live(change.conn(), &console.app)
        .await?
        .into_iter()
        .filter(|cell| cell.service == name)
        .map(|cell| {
            json!({"kind": cell.kind, "subject": cell.subject, "method": cell.method, "effect": cell.effect})
        })
        .collect();
    store::services::delete(change.conn(), &id).await?;
    change
        .audit(Event {
            action: "service.delete",
            target: format!("service:{name}"),
            service: Some(name),
            before: Some(json!({
                "settings": service.upstream,
                "methods": service.methods.iter().map(|m| &m.name).collect::<Vec<_>>(),
                "cells": cells,
            })),
            after: None,
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(cells.len())
}

/// How many cells a service's deletion would take with it.
pub async fn cells_of(console: &Console, name: &str) -> Result<usize, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    Ok(store::permissions::live(&mut conn, &console.app)
        .await?
        .iter()
        .filter(|cell| cell.service == name)
        .count())
}

/// A new signing secret, in force on every server once committed; the old
/// one signs nothing more. Shown this once.
pub async fn rotate_secret(console: &Console, actor: &Actor, name: &str) -> Result<String, Error> {
    let secret = UpstreamSecret::generate();
    let mut change = Change::begin(console, actor).await?;
    // reads, then writes what it read: one change at a time
    change.serialize().await?;
    let (id, _) = http_service(&mut change, &console.app, name).await?;
    store::services::set_secret(change.conn(), &id, secret.reveal(), store::now_millis()).await?;
    change
        .audit(Event {
            action: "service.secret.rotate",
            target: format!("service:{name}"),
            service: Some(name),
            before: None,
            // never the secret itself
            after: Some(json!({"rotated": true})),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(secret.reveal().to_string())
}

/// Creates or updates a service from an OpenAPI document, in one
/// transaction with one audit event; a dry run answers the same report and
/// writes nothing.
pub async fn import(
    console: &Console,
    actor: &Actor,
    request: ImportRequest,
    dry_run: bool,
) -> Result<ImportReport, Error> {
    let name = check_service_name(&request.name).map_err(bad)?;
    let imported =
        crate::openapi::parse(request.document).map_err(|problem| Error::InvalidDocument {
            pointer: problem.pointer,
            message: problem.message,
        })?;
    let methods = check_methods(imported.methods).map_err(|message| Error::InvalidDocument {
        pointer: "/paths".to_string(),
        message,
    })?;
    let mut change = Change::begin(console, actor).await?;
    // reads, then writes what it read: one change at a time
    change.serialize().await?;
    let existing = stored(&mut change, &console.app, &name).await?;
    let given_url = request
        .base_url
        .as_deref()
        .map(check_base_url)
        .transpose()
        .map_err(bad)?;
    let proposed = imported
        .base_url
        .as_deref()
        .and_then(|url| check_base_url(url).ok());
    let (report, created, settings, secret) = match existing {
        Some(service) if service.kind != ServiceKind::Http => {
            return Err(Error::Forbidden(format!(
                "`{name}` is built into the server: its methods come from the server's code"
            )))
        }
        Some(service) => {
            let id = store::services::id_of(change.conn(), &console.app, &name)
                .await?
                .ok_or(Error::Internal)?;
            let before = service.upstream.clone().ok_or(Error::Internal)?;
            let settings = UpstreamSettings {
                // an update keeps its URL unless one is given
                base_url: given_url.unwrap_or(before.base_url.clone()),
                timeout_ms: match request.timeout_ms {
                    Some(ms) => check_timeout(Some(ms)).map_err(bad)?,
                    None => before.timeout_ms,
                },
                new_methods_deny_anonymous: request
                    .new_methods_deny_anonymous
                    .unwrap_or(before.new_methods_deny_anonymous),
            };
            store::services::update_http(
                change.conn(),
                &id,
                &service.description,
                &settings,
                store::now_millis(),
            )
            .await?;
            let report = write_methods(
                &mut change,
                console,
                &id,
                &name,
                &service.methods,
                &methods,
                &settings,
            )
            .await?;
            (report, false, settings, None)
        }
        None => {
            let base_url = given_url.or(proposed.clone()).ok_or_else(|| {
                bad(
                    "give `baseUrl`: the document's servers name no absolute http(s) URL"
                        .to_string(),
                )
            })?;
            let settings = UpstreamSettings {
                base_url,
                timeout_ms: check_timeout(request.timeout_ms).map_err(bad)?,
                new_methods_deny_anonymous: request.new_methods_deny_anonymous.unwrap_or(false),
            };
            let (report, secret) = insert_new(
                &mut change,
                console,
                &name,
                &imported.title,
                &settings,
                &methods,
            )
            .await?;
            (report, true, settings, Some(secret))
        }
    };
    let mut answer = ImportReport {
        service: name.clone(),
        title: imported.title,
        created,
        base_url: settings.base_url.clone(),
        proposed_base_url: proposed,
        methods: report,
        applied: false,
        secret: None,
    };
    if dry_run {
        // dropped without a commit: nothing was written
        return Ok(answer);
    }
    change
        .audit(Event {
            action: "service.import",
            target: format!("service:{name}"),
            service: Some(&name),
            before: None,
            after: Some(json!({
                "created": created,
                "settings": settings,
                "methods": answer.methods,
            })),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    answer.applied = true;
    answer.secret = secret;
    Ok(answer)
}
