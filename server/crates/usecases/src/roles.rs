//! Roles: the system roles every caller holds one of, and custom roles.

use policy::cells::SubjectKind;
use policy::names::check_role_name;
use policy::wire::Role;
use serde_json::json;
use store::roles::RoleRecord;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// System roles first, then by name.
pub async fn list(console: &Console) -> Result<Vec<Role>, Error> {
    Ok(store::roles::list(&console.pool, &console.app).await?)
}

/// A role by name, whatever its case.
pub async fn find(console: &Console, name: &str) -> Result<RoleRecord, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    store::roles::find(&mut conn, &console.app, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no role `{name}`")))
}

fn duplicate(name: &str) -> impl Fn(store::StoreError) -> Error + '_ {
    move |error| match error {
        store::StoreError::Duplicate(store::Unique::RoleName) => {
            Error::Conflict(format!("a role named `{name}` already exists"))
        }
        other => other.into(),
    }
}

fn refuse_system(role: &RoleRecord, what: &str) -> Result<(), Error> {
    if role.system() {
        return Err(Error::Forbidden(format!(
            "the system role `{}` cannot be {what}",
            role.name
        )));
    }
    Ok(())
}

pub async fn create(console: &Console, actor: &Actor, name: &str) -> Result<Role, Error> {
    let name = check_role_name(name).map_err(Error::BadInput)?;
    let mut change = Change::begin(console, actor).await?;
    store::roles::insert(
        change.conn(),
        &console.app,
        &store::new_object_id(),
        &name,
        store::now_millis(),
    )
    .await
    .map_err(duplicate(&name))?;
    change
        .audit(Event {
            action: "role.create",
            target: format!("role:{name}"),
            service: None,
            before: None,
            after: Some(json!({"name": name})),
        })
        .await?;
    // a new role holds no cells and no users: the runtime has nothing to learn
    change.commit().await?;
    Ok(Role {
        name,
        system: false,
    })
}

pub async fn rename(
    console: &Console,
    actor: &Actor,
    name: &str,
    new_name: &str,
) -> Result<Role, Error> {
    let role = find(console, name).await?;
    refuse_system(&role, "renamed")?;
    let new_name = check_role_name(new_name).map_err(Error::BadInput)?;
    let mut change = Change::begin(console, actor).await?;
    store::roles::rename(change.conn(), &role.role_id, &new_name, store::now_millis())
        .await
        .map_err(duplicate(&new_name))?;
    change
        .audit(Event {
            action: "role.rename",
            target: format!("role:{new_name}"),
            service: None,
            before: Some(json!({"name": role.name})),
            after: Some(json!({"name": new_name})),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    Ok(Role {
        name: new_name,
        system: false,
    })
}

/// Deletes a custom role, its assignments and its permissions.
pub async fn delete(console: &Console, actor: &Actor, name: &str) -> Result<(), Error> {
    let role = find(console, name).await?;
    refuse_system(&role, "deleted")?;
    let mut change = Change::begin(console, actor).await?;
    // the cells go with the role: the event lists them
    let cells = crate::change::cells_of_subject(
        change.conn(),
        SubjectKind::Roles,
        &role.role_id,
        &role.name,
    )
    .await?;
    store::roles::delete(change.conn(), &role.role_id).await?;
    change
        .audit(Event {
            action: "role.delete",
            target: format!("role:{}", role.name),
            service: None,
            before: Some(json!({"name": role.name, "cells": cells})),
            after: None,
        })
        .await?;
    change.policy_changed();
    change.commit().await
}
