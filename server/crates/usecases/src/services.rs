//! API services and their methods: the catalog, its registration by a
//! starting server, and the removal of what no server offers any more.

use policy::wire::{Service, ServiceKind};
use serde_json::json;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// Every service of the application; an HTTP upstream's methods carry how
/// they have been answering on this server.
pub async fn list(console: &Console) -> Result<Vec<Service>, Error> {
    let mut services = store::services::list(&console.pool, &console.app).await?;
    let stats = &console.runtime.upstream_stats;
    for service in &mut services {
        if service.kind == ServiceKind::Http {
            for method in &mut service.methods {
                method.stats = stats.of(&console.app, &service.name, &method.name);
            }
        }
    }
    Ok(services)
}

/// Registers what a starting server offers. Services and methods it offers
/// are written (and no longer missing); those it does not offer are kept
/// with their permissions, marked missing, with an audit event: during a
/// rolling deploy several versions of the server share one database, and
/// a permission never vanishes unless an admin removes it.
///
/// Every application offers the server's built-in services.
pub async fn register(console: &Console, offered: &[Service]) -> Result<(), Error> {
    for app in store::apps::list(&console.pool).await? {
        let console = Console {
            app: app.application_id.into(),
            ..console.clone()
        };
        register_in(&console, offered).await?;
    }
    Ok(())
}

async fn register_in(console: &Console, offered: &[Service]) -> Result<(), Error> {
    let actor = Actor::System;
    let mut change = Change::begin(console, &actor).await?;
    // servers starting at once register one after the other
    change.serialize().await?;
    let now = store::now_millis();
    let existing = store::services::all(change.conn(), &console.app).await?;
    for service in &existing {
        // an admin's HTTP services are not the server's to offer; a server
        // older than them may have marked them missing
        if service.kind() == ServiceKind::Http {
            if service.missing != 0 {
                store::services::clear_missing(change.conn(), &service.service_id, now).await?;
            }
            continue;
        }
        if service.missing == 0 && !offered.iter().any(|o| o.name == service.name) {
            store::services::mark_missing(change.conn(), &service.service_id, now).await?;
            let methods = store::services::methods(change.conn(), &service.service_id).await?;
            for method in &methods {
                store::services::mark_method_missing(
                    change.conn(),
                    &service.service_id,
                    &method.name,
                )
                .await?;
            }
            let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
            change
                .audit(Event {
                    action: "service.missing",
                    target: format!("service:{}", service.name),
                    service: Some(&service.name),
                    before: None,
                    after: Some(json!({"missing": true, "methods": names})),
                })
                .await?;
        }
    }
    for service in offered {
        let id = match existing.iter().find(|e| e.name == service.name) {
            Some(found) if found.kind() == ServiceKind::Http => {
                tracing::warn!(
                    service = %service.name,
                    "an HTTP service has the name of a built-in service; the built-in one is not offered in its application"
                );
                continue;
            }
            Some(found) => {
                store::services::refresh(
                    change.conn(),
                    &found.service_id,
                    &service.description,
                    now,
                )
                .await?;
                found.service_id.clone()
            }
            None => {
                let id = store::new_object_id();
                store::services::insert(
                    change.conn(),
                    &console.app,
                    &id,
                    &service.name,
                    &service.description,
                    now,
                )
                .await?;
                id
            }
        };
        let stored = store::services::methods(change.conn(), &id).await?;
        for (position, method) in service.methods.iter().enumerate() {
            let position = i64::try_from(position).unwrap_or(i64::MAX);
            store::services::upsert_method(change.conn(), &id, method, position).await?;
        }
        for method in stored {
            let offered_now = service.methods.iter().any(|m| m.name == method.name);
            if method.missing == 0 && !offered_now {
                store::services::mark_method_missing(change.conn(), &id, &method.name).await?;
                change
                    .audit(Event {
                        action: "service.method.missing",
                        target: format!("method:{}.{}", service.name, method.name),
                        service: Some(&service.name),
                        before: None,
                        after: Some(json!({"method": method.name, "missing": true})),
                    })
                    .await?;
            }
        }
    }
    change.policy_changed();
    change.commit().await
}

/// Removes a method marked missing (the last server to start did not offer
/// it), with every cell on it; the audit event lists the cells. The service
/// itself stays, with its All Methods cells.
pub async fn remove_missing_method(
    console: &Console,
    actor: &Actor,
    service: &str,
    method: &str,
) -> Result<(), Error> {
    let mut change = Change::begin(console, actor).await?;
    // a server registering at the same time waits for this, or this for it
    change.serialize().await?;
    let record = store::services::all(change.conn(), &console.app)
        .await?
        .into_iter()
        .find(|record| record.name == service)
        .ok_or_else(|| Error::NotFound(format!("unknown service `{service}`")))?;
    if record.kind() == ServiceKind::Http {
        return Err(Error::Forbidden(format!(
            "`{service}` is an HTTP service: change its methods with PATCH or a new import"
        )));
    }
    let service_id = record.service_id;
    let found = store::services::methods(change.conn(), &service_id)
        .await?
        .into_iter()
        .find(|m| m.name == method)
        .ok_or_else(|| {
            Error::NotFound(format!("unknown method `{method}` in service `{service}`"))
        })?;
    if found.missing == 0 {
        return Err(Error::Forbidden(format!(
            "`{service}.{method}` was offered by the last server that started; only a method marked missing can be removed"
        )));
    }
    let cells: Vec<_> = store::permissions::live(change.conn(), &console.app)
        .await?
        .into_iter()
        .filter(|cell| cell.service == service && cell.method == method)
        .map(|cell| json!({"kind": cell.kind, "subject": cell.subject, "effect": cell.effect}))
        .collect();
    store::services::delete_method(change.conn(), &service_id, method).await?;
    change
        .audit(Event {
            action: "service.method.remove",
            target: format!("method:{service}.{method}"),
            service: Some(service),
            before: Some(json!({"method": method, "missing": true, "cells": cells})),
            after: None,
        })
        .await?;
    change.policy_changed();
    change.commit().await
}
