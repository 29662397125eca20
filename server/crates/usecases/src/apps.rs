//! Applications and their API keys. Each application has its own users,
//! roles, services, permissions, sessions, audit trail and settings, and
//! one key per kind of client (REST, JS, Android, iOS, .NET, CodeRunner)
//! carrying its system role, plus custom keys with roles of their names.
//! The default application is made by migration; `/api/...` and the
//! unprefixed admin paths address it.

use std::collections::HashMap;
use std::time::Duration;

use policy::cells::SubjectKind;
use policy::names::{check_app_name, check_role_name, role_key};
use policy::wire::{AppChanges, AppDetails, AppInfo, AppKey, AppSettingsView, NewApp, UserStatus};
use serde_json::json;
use store::apps::StoredSettings;
use store::permissions::CellIds;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// The roles every application has, whatever its keys.
const CALLER_ROLES: [&str; 2] = ["NotAuthenticatedUser", "AuthenticatedUser"];

/// The default keys of every application: (key name, role name).
pub const DEFAULT_KEYS: [(&str, &str); 6] = [
    ("REST", "RestUser"),
    ("JS", "JSUser"),
    ("Android", "AndroidUser"),
    ("iOS", "IOSUser"),
    (".NET", "DotNetUser"),
    ("CodeRunner", "ServerCodeUser"),
];

/// Every application of the console, the default first, then by name.
pub async fn list(console: &Console) -> Result<Vec<AppInfo>, Error> {
    Ok(store::apps::list(&console.pool)
        .await?
        .into_iter()
        .map(|app| AppInfo {
            id: app.application_id,
            name: app.name,
            default: app.is_default != 0,
        })
        .collect())
}

pub async fn default_application(console: &Console) -> Result<AppInfo, Error> {
    let app = store::apps::default_application(&console.pool).await?;
    Ok(AppInfo {
        id: app.application_id,
        name: app.name,
        default: true,
    })
}

/// The application the console addresses, with its settings.
pub async fn details(console: &Console) -> Result<AppDetails, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    let app = store::apps::get(&mut conn, &console.app)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no application `{}`", console.app)))?;
    let effective = console.app_settings();
    let secs = |duration: Duration| i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
    Ok(AppDetails {
        id: app.application_id,
        name: app.name,
        default: app.is_default != 0,
        settings: AppSettingsView {
            session_timeout_secs: app.session_timeout_secs,
            max_failed_logins: app.max_failed_logins,
            lockout_secs: app.lockout_secs,
            registration: app.registration.map(|on| on != 0),
        },
        effective: AppSettingsView {
            session_timeout_secs: Some(secs(effective.session_timeout)),
            max_failed_logins: Some(effective.max_failed_logins),
            lockout_secs: Some(secs(effective.lockout)),
            registration: Some(effective.registration),
        },
    })
}

/// Longest session timeout and lockout an application may set: 30 days.
const MAX_SETTING_SECS: i64 = 30 * 24 * 3600;

fn check_settings(settings: AppSettingsView) -> Result<StoredSettings, Error> {
    let in_range = |value: Option<i64>, low: i64, high: i64, what: &str| match value {
        Some(value) if !(low..=high).contains(&value) => Err(Error::BadInput(format!(
            "{what} must be from {low} to {high}"
        ))),
        _ => Ok(value),
    };
    Ok(StoredSettings {
        session_timeout_secs: in_range(
            settings.session_timeout_secs,
            60,
            MAX_SETTING_SECS,
            "the session timeout (sessionTimeoutSecs) in seconds",
        )?,
        max_failed_logins: in_range(
            settings.max_failed_logins,
            1,
            1000,
            "the failed logins before lockout (maxFailedLogins)",
        )?,
        lockout_secs: in_range(
            settings.lockout_secs,
            1,
            MAX_SETTING_SECS,
            "the lockout (lockoutSecs) in seconds",
        )?,
        registration: settings.registration,
    })
}

fn taken_name(name: &str) -> impl Fn(store::StoreError) -> Error + '_ {
    move |error| match error {
        store::StoreError::Duplicate(store::Unique::ApplicationName) => {
            Error::Conflict(format!("an application named `{name}` already exists"))
        }
        other => other.into(),
    }
}

/// Creates an application: empty (its system roles, the default keys and
/// the built-in services, as the default application has them), or a
/// clone of `clone_from` (its roles, services, custom keys' roles,
/// permissions and settings, and with `with_users` its users with their
/// passwords and roles; never their sessions). One change.
pub async fn create(console: &Console, actor: &Actor, new_app: NewApp) -> Result<AppInfo, Error> {
    let name = check_app_name(&new_app.name).map_err(Error::BadInput)?;
    if new_app.with_users && new_app.clone_from.is_none() {
        return Err(Error::BadInput(
            "to copy users, choose an application to clone (withUsers needs cloneFrom)".to_string(),
        ));
    }
    let source = match &new_app.clone_from {
        Some(id) => Some(console.in_app(id)?),
        None => None,
    };
    let catalog_from = match &source {
        Some(source) => source.app.to_string(),
        None => default_application(console).await?.id,
    };
    let id = store::new_object_id();
    let now = store::now_millis();
    let mut change = Change::begin_for(console, actor, Some(id.clone())).await?;
    change.serialize().await?;
    store::apps::insert(change.conn(), &id, &name, now)
        .await
        .map_err(taken_name(&name))?;

    // roles: the system ones, then (cloning) the source's others
    let mut role_ids: HashMap<String, String> = HashMap::new();
    for role in CALLER_ROLES
        .iter()
        .chain(DEFAULT_KEYS.iter().map(|(_, role)| role))
    {
        let role_id = store::new_object_id();
        store::roles::insert_with(change.conn(), &id, &role_id, role, true, now).await?;
        role_ids.insert(role_key(role), role_id);
    }
    for (key, role) in DEFAULT_KEYS {
        let role_id = role_ids.get(&role_key(role)).ok_or(Error::Internal)?;
        store::apps::insert_key(
            change.conn(),
            &store::new_object_id(),
            &id,
            key,
            role_id,
            now,
        )
        .await?;
    }
    if let Some(source) = &source {
        let key_roles: HashMap<String, String> = store::apps::keys(&console.pool, &source.app)
            .await?
            .into_iter()
            .filter(|key| !DEFAULT_KEYS.iter().any(|(name, _)| *name == key.name))
            .map(|key| (role_key(&key.role), key.name))
            .collect();
        for role in store::roles::all(change.conn(), &source.app).await? {
            let wanted = role_key(&role.name);
            if role_ids.contains_key(&wanted) {
                continue;
            }
            let role_id = store::new_object_id();
            let key = key_roles.get(&wanted);
            store::roles::insert_with(change.conn(), &id, &role_id, &role.name, key.is_some(), now)
                .await?;
            if let Some(key) = key {
                store::apps::insert_key(
                    change.conn(),
                    &store::new_object_id(),
                    &id,
                    key,
                    &role_id,
                    now,
                )
                .await?;
            }
            role_ids.insert(wanted, role_id);
        }
        let settings = source.app_snapshot()?.settings;
        store::apps::set_settings(change.conn(), &id, settings).await?;
    }

    // services and their methods
    let mut service_ids: HashMap<String, String> = HashMap::new();
    let secrets: HashMap<String, Option<String>> =
        store::services::http_services(change.conn(), &catalog_from)
            .await?
            .into_iter()
            .map(|row| (row.name, row.secret))
            .collect();
    for service in store::services::list(&console.pool, &catalog_from).await? {
        // a new application starts with the server's built-in services; an
        // admin's HTTP services (their secrets, their cells) come only
        // with a clone
        if source.is_none() && service.upstream.is_some() {
            continue;
        }
        let service_id = store::new_object_id();
        match &service.upstream {
            // the same upstream, signed with the same secret: it tells the
            // two applications apart by X-Caller-App
            Some(settings) => {
                let secret = secrets
                    .get(&service.name)
                    .cloned()
                    .flatten()
                    .unwrap_or_default();
                store::services::insert_http(
                    change.conn(),
                    &id,
                    &store::services::NewHttpService {
                        service_id: &service_id,
                        name: &service.name,
                        description: &service.description,
                        settings,
                        secret: &secret,
                    },
                    now,
                )
                .await?;
            }
            None => {
                store::services::insert(
                    change.conn(),
                    &id,
                    &service_id,
                    &service.name,
                    &service.description,
                    now,
                )
                .await?;
            }
        }
        for (position, method) in service.methods.iter().enumerate() {
            let position = i64::try_from(position).unwrap_or(i64::MAX);
            store::services::upsert_method(change.conn(), &service_id, method, position).await?;
            if method.missing {
                // still missing in the copy: no running server offers it
                store::services::mark_method_missing(change.conn(), &service_id, &method.name)
                    .await?;
            }
        }
        service_ids.insert(service.name, service_id);
    }

    // users, their roles, and the cells
    let mut user_ids: HashMap<String, String> = HashMap::new();
    let mut users_copied = 0usize;
    if let (Some(source), true) = (&source, new_app.with_users) {
        let users = store::users::credentials(change.conn(), &source.app).await?;
        let mut old_to_new = HashMap::new();
        for user in users {
            let user_id = store::new_object_id();
            store::users::insert(
                change.conn(),
                &id,
                &user_id,
                &user.email,
                &user.name,
                &user.password_hash,
                now,
            )
            .await?;
            if user.user_status != UserStatus::Enabled.as_str() {
                store::users::set_status(change.conn(), &user_id, UserStatus::Disabled, now)
                    .await?;
            }
            old_to_new.insert(user.app_user_id, user_id.clone());
            user_ids.insert(user.email, user_id);
            users_copied += 1;
        }
        for (old_user, role) in store::users::all_roles(&console.pool, &source.app).await? {
            if let (Some(user_id), Some(role_id)) =
                (old_to_new.get(&old_user), role_ids.get(&role_key(&role)))
            {
                store::users::add_role(change.conn(), user_id, role_id, now).await?;
            }
        }
    }
    let mut cells_copied = 0usize;
    if let Some(source) = &source {
        for cell in store::permissions::live(change.conn(), &source.app).await? {
            let subject_id = match cell.kind {
                SubjectKind::Users => user_ids.get(&cell.subject),
                SubjectKind::Roles => role_ids.get(&role_key(&cell.subject)),
            };
            let (Some(subject_id), Some(service_id)) = (subject_id, service_ids.get(&cell.service))
            else {
                // a user cell when users are not copied
                continue;
            };
            let ids = CellIds {
                service_id: service_id.clone(),
                subject_id: subject_id.clone(),
            };
            store::permissions::write(
                change.conn(),
                cell.kind,
                &ids,
                &cell.method,
                cell.cell(),
                now,
            )
            .await?;
            cells_copied += 1;
        }
    }
    change
        .audit(Event {
            action: if source.is_some() {
                "app.clone"
            } else {
                "app.create"
            },
            target: format!("app:{name}"),
            service: None,
            before: None,
            after: Some(json!({
                "id": id,
                "name": name,
                "cloneFrom": source.as_ref().map(|source| source.app.to_string()),
                "users": users_copied,
                "cells": cells_copied,
            })),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(AppInfo {
        id,
        name,
        default: false,
    })
}

/// Renames the application and/or replaces its settings.
pub async fn update(
    console: &Console,
    actor: &Actor,
    changes: AppChanges,
) -> Result<AppDetails, Error> {
    let before = details(console).await?;
    let name = changes
        .name
        .as_deref()
        .map(check_app_name)
        .transpose()
        .map_err(Error::BadInput)?;
    let settings = changes.settings.map(check_settings).transpose()?;
    if name.is_none() && settings.is_none() {
        return Ok(before);
    }
    let mut change = Change::begin(console, actor).await?;
    // the counters' lock first, as every change that takes it does: two
    // changes taking the same two locks in opposite orders would deadlock
    change.serialize().await?;
    if let Some(name) = &name {
        store::apps::rename(change.conn(), &console.app, name)
            .await
            .map_err(taken_name(name))?;
    }
    if let Some(settings) = settings {
        store::apps::set_settings(change.conn(), &console.app, settings).await?;
    }
    change
        .audit(Event {
            action: "app.update",
            target: format!("app:{}", name.as_deref().unwrap_or(&before.name)),
            service: None,
            before: Some(json!({"name": before.name, "settings": before.settings})),
            after: Some(json!({
                "name": name.as_deref().unwrap_or(&before.name),
                "settings": changes.settings.unwrap_or(before.settings),
            })),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    details(console).await
}

/// Deletes the application and everything of it, in one change: `confirm`
/// must be its name, exactly. The default application stays.
pub async fn delete(console: &Console, actor: &Actor, confirm: &str) -> Result<(), Error> {
    let app = details(console).await?;
    if app.default {
        return Err(Error::Forbidden(
            "the default application cannot be deleted: `/api/...` addresses it".to_string(),
        ));
    }
    if confirm != app.name {
        return Err(Error::BadInput(format!(
            "to delete the application, confirm with its name `{}` exactly",
            app.name
        )));
    }
    // no early counters' lock here: the delete waits for any change still
    // writing rows of the application, which takes that lock at its commit
    let mut change = Change::begin(console, actor).await?;
    if !store::apps::delete(change.conn(), &console.app).await? {
        return Err(Error::NotFound(format!("no application `{}`", console.app)));
    }
    change.app_deleted();
    change
        .audit(Event {
            action: "app.delete",
            target: format!("app:{}", app.name),
            service: None,
            before: Some(json!({"id": app.id, "name": app.name})),
            after: None,
        })
        .await?;
    change.commit().await
}

/// The API keys of the application: the default kinds, then custom ones.
pub async fn keys(console: &Console) -> Result<Vec<AppKey>, Error> {
    console.app_snapshot()?;
    Ok(store::apps::keys(&console.pool, &console.app)
        .await?
        .into_iter()
        .map(|key| AppKey {
            name: key.name,
            key: key.api_key,
            role: key.role,
        })
        .collect())
}

/// Gives a key a new value: the old one opens nothing from the next call on
/// this server, and on the others once they follow the change (one poll).
pub async fn regenerate_key(console: &Console, actor: &Actor, name: &str) -> Result<AppKey, Error> {
    console.app_snapshot()?;
    let new_key = store::new_object_id();
    let mut change = Change::begin(console, actor).await?;
    if !store::apps::regenerate(change.conn(), &console.app, name, &new_key).await? {
        return Err(Error::NotFound(format!(
            "the application has no API key `{name}`"
        )));
    }
    change
        .audit(Event {
            action: "app.key.regenerate",
            target: format!("appkey:{name}"),
            service: None,
            before: None,
            after: Some(json!({"application": console.app.to_string(), "key": name})),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    let role = keys(console)
        .await?
        .into_iter()
        .find(|key| key.name == name)
        .map(|key| key.role)
        .ok_or(Error::Internal)?;
    Ok(AppKey {
        name: name.to_string(),
        key: new_key,
        role,
    })
}

/// A custom key with a new system role of the same name (calls made with
/// it carry that role).
pub async fn create_key(console: &Console, actor: &Actor, name: &str) -> Result<AppKey, Error> {
    console.app_snapshot()?;
    let name = check_role_name(name).map_err(|error| {
        Error::BadInput(format!("{error} (a custom key makes a role of its name)"))
    })?;
    let now = store::now_millis();
    let mut change = Change::begin(console, actor).await?;
    change.serialize().await?;
    if store::roles::find(change.conn(), &console.app, &name)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "a role named `{name}` already exists; a custom key makes a role of its name"
        )));
    }
    let role_id = store::new_object_id();
    store::roles::insert_with(change.conn(), &console.app, &role_id, &name, true, now).await?;
    let key = store::new_object_id();
    store::apps::insert_key(change.conn(), &key, &console.app, &name, &role_id, now)
        .await
        .map_err(|error| match error {
            store::StoreError::Duplicate(store::Unique::ApiKeyName) => {
                Error::Conflict(format!("the application has an API key `{name}` already"))
            }
            other => other.into(),
        })?;
    change
        .audit(Event {
            action: "app.key.create",
            target: format!("appkey:{name}"),
            service: None,
            before: None,
            after: Some(json!({"key": name, "role": name})),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(AppKey {
        role: name.clone(),
        name,
        key,
    })
}

/// Deletes a custom key. Its role stays, with its users and cells, as a
/// custom role an admin may now rename or delete.
pub async fn delete_key(console: &Console, actor: &Actor, name: &str) -> Result<(), Error> {
    console.app_snapshot()?;
    if DEFAULT_KEYS.iter().any(|(key, _)| *key == name) {
        return Err(Error::Forbidden(format!(
            "`{name}` is a default key: regenerate it instead"
        )));
    }
    let mut change = Change::begin(console, actor).await?;
    let role_id = store::apps::delete_key(change.conn(), &console.app, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("the application has no API key `{name}`")))?;
    store::apps::release_role(change.conn(), &role_id).await?;
    change
        .audit(Event {
            action: "app.key.delete",
            target: format!("appkey:{name}"),
            service: None,
            before: Some(json!({"key": name})),
            after: None,
        })
        .await?;
    change.policy_changed();
    change.commit().await
}
