//! Application users: list, create, change, delete, roles.

use policy::cells::SubjectKind;
use policy::names::{check_password_rules, check_user_name, looks_like_email, normalize_email};
use policy::wire::{NewUser, User, UserChanges, UserPage, UserStatus};
use runtime::secret;
use serde_json::json;

use crate::change::{Change, Event};
use crate::{check_page, Actor, Console, Error};

pub async fn list(
    console: &Console,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<UserPage, Error> {
    check_page(offset, limit)?;
    Ok(store::users::list(&console.pool, &console.app, search, offset, limit).await?)
}

pub async fn get(console: &Console, object_id: &str) -> Result<User, Error> {
    store::users::get(&console.pool, &console.app, object_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user with objectId `{object_id}`")))
}

/// The objectId of the user with this email, if any.
pub async fn id_for_email(console: &Console, email: &str) -> Result<Option<String>, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    Ok(store::users::id_for_email(&mut conn, &console.app, email).await?)
}

/// A password checked against the rules and hashed (on the hashing threads).
pub(crate) async fn new_password_hash(password: String) -> Result<String, Error> {
    check_password_rules(&password).map_err(Error::BadInput)?;
    secret::hash_password(password)
        .await
        .map_err(|_| Error::Internal)
}

pub async fn create(console: &Console, actor: &Actor, new_user: NewUser) -> Result<User, Error> {
    let email = normalize_email(&new_user.email);
    if !looks_like_email(&email) {
        return Err(Error::BadInput(format!(
            "`{}` is not an email address",
            new_user.email
        )));
    }
    let name = check_user_name(&new_user.name).map_err(Error::BadInput)?;
    let hash = new_password_hash(new_user.password).await?;
    let user = User {
        object_id: store::new_object_id(),
        email,
        name,
        user_status: UserStatus::Enabled,
        roles: Vec::new(),
    };
    let mut change = Change::begin(console, actor).await?;
    store::users::insert(
        change.conn(),
        &console.app,
        &user.object_id,
        &user.email,
        &user.name,
        &hash,
        store::now_millis(),
    )
    .await
    .map_err(|error| match error {
        store::StoreError::Duplicate(store::Unique::UserEmail) => Error::Conflict(format!(
            "a user with the email `{}` already exists",
            user.email
        )),
        other => other.into(),
    })?;
    change
        .audit(Event {
            action: "user.create",
            target: format!("user:{}", user.email),
            service: None,
            before: None,
            after: Some(json!({"email": user.email, "name": user.name, "userStatus": "ENABLED"})),
        })
        .await?;
    // a new user has no roles and no cells: the other servers read them,
    // they do not reload
    change.user_changed(&user.object_id);
    change.commit().await?;
    Ok(user)
}

/// Changes a user: name, password (ends their sessions) or status
/// (disabling ends their sessions).
pub async fn update(
    console: &Console,
    actor: &Actor,
    object_id: &str,
    changes: UserChanges,
) -> Result<User, Error> {
    let before = get(console, object_id).await?;
    if changes == UserChanges::default() {
        // nothing asked, nothing changed, nothing to audit
        return Ok(before);
    }
    let name = changes
        .name
        .as_deref()
        .map(check_user_name)
        .transpose()
        .map_err(Error::BadInput)?;
    let hash = match changes.password {
        Some(password) => Some(new_password_hash(password).await?),
        None => None,
    };
    let ends_sessions = hash.is_some() || changes.user_status == Some(UserStatus::Disabled);
    let now = store::now_millis();
    let mut change = Change::begin(console, actor).await?;
    if let Some(name) = &name {
        store::users::set_name(change.conn(), object_id, name, now).await?;
    }
    if let Some(hash) = &hash {
        store::users::set_password_hash(change.conn(), object_id, hash, now).await?;
    }
    if let Some(status) = changes.user_status {
        store::users::set_status(change.conn(), object_id, status, now).await?;
    }
    if hash.is_some() || changes.user_status.is_some() {
        // a new password or status clears the failed logins and any lock
        store::attempts::forgive(change.conn(), &console.app, &before.email).await?;
    }
    if ends_sessions {
        store::sessions::delete_for_user(change.conn(), object_id).await?;
        change.sessions_ended_for(object_id);
    }
    let mut after = json!({
        "name": name.as_ref().unwrap_or(&before.name),
        "userStatus": changes.user_status.unwrap_or(before.user_status),
    });
    if hash.is_some() {
        after["password"] = json!("changed");
    }
    change
        .audit(Event {
            action: "user.update",
            target: format!("user:{}", before.email),
            service: None,
            before: Some(json!({"name": before.name, "userStatus": before.user_status})),
            after: Some(after),
        })
        .await?;
    change.user_changed(object_id);
    change.commit().await?;
    get(console, object_id).await
}

pub async fn delete(console: &Console, actor: &Actor, object_id: &str) -> Result<(), Error> {
    let before = get(console, object_id).await?;
    let mut change = Change::begin(console, actor).await?;
    // the cells go with the user: the event lists them
    let cells = crate::change::cells_of_subject(
        change.conn(),
        SubjectKind::Users,
        object_id,
        &before.email,
    )
    .await?;
    store::users::delete(change.conn(), object_id).await?;
    // a new user with this email starts with a clean count
    store::attempts::forgive(change.conn(), &console.app, &before.email).await?;
    change.sessions_ended_for(object_id);
    change
        .audit(Event {
            action: "user.delete",
            target: format!("user:{}", before.email),
            service: None,
            before: Some(
                json!({"email": before.email, "name": before.name, "roles": before.roles, "cells": cells}),
            ),
            after: None,
        })
        .await?;
    change.policy_changed();
    change.commit().await
}

/// Gives the user a role; true if it was not theirs yet.
pub async fn assign_role(
    console: &Console,
    actor: &Actor,
    object_id: &str,
    role: &str,
) -> Result<bool, Error> {
    set_role(console, actor, object_id, role, true).await
}

/// Takes a role away; true if the user had it.
pub async fn remove_role(
    console: &Console,
    actor: &Actor,
    object_id: &str,
    role: &str,
) -> Result<bool, Error> {
    set_role(console, actor, object_id, role, false).await
}

async fn set_role(
    console: &Console,
    actor: &Actor,
    object_id: &str,
    role_name: &str,
    assigned: bool,
) -> Result<bool, Error> {
    let user = get(console, object_id).await?;
    let role = crate::roles::find(console, role_name).await?;
    if role.system() {
        return Err(Error::Forbidden(format!(
            "the system role `{}` cannot be assigned or removed: it follows from how the caller signs in",
            role.name
        )));
    }
    let had = user.roles.contains(&role.name);
    if had == assigned {
        return Ok(false);
    }
    let mut change = Change::begin(console, actor).await?;
    if assigned {
        store::users::add_role(change.conn(), object_id, &role.role_id, store::now_millis())
            .await?;
    } else {
        store::users::remove_role(change.conn(), object_id, &role.role_id).await?;
    }
    change
        .audit(Event {
            action: if assigned {
                "user.role.assign"
            } else {
                "user.role.remove"
            },
            target: format!("user:{}", user.email),
            service: None,
            before: Some(json!({"roles": user.roles})),
            after: Some(json!({"role": role.name, "assigned": assigned})),
        })
        .await?;
    // a role brings its cells with it: every server reloads, servers older
    // than the event feed included (a role's Deny must never be missed)
    change.policy_changed();
    change.commit().await?;
    Ok(true)
}
