//! Bulk data for demos, load tests and benchmarks, written as one change
//! each (never undoing an admin's edits: callers seed empty databases).

use std::collections::HashMap;

use fixture::Fixture;
use policy::cells::{SubjectKind, ALL_METHODS};
use policy::decision::{Effect, Subject};
use policy::wire::Verb;
use runtime::secret;
use store::permissions::CellIds;

use crate::change::Change;
use crate::{Actor, Console, Error};

/// True if the database holds no application user yet.
pub async fn no_users_yet(console: &Console) -> Result<bool, Error> {
    Ok(!store::users::any(&console.pool, &console.app).await?)
}

/// Adds `count` users `{prefix}-00001@example.com`… (name `Load User 00001`…)
/// in one change, sharing one password hash so that 10,000 users take about
/// a second. Returns how many were added (existing emails are skipped).
pub async fn bulk_users(
    console: &Console,
    prefix: &str,
    count: u32,
    password: &str,
) -> Result<u64, Error> {
    let hash = secret::hash_password(password.to_string())
        .await
        .map_err(|_| Error::Internal)?;
    let now = store::now_millis();
    let actor = Actor::System;
    let mut change = Change::begin(console, &actor).await?;
    let mut added = 0;
    for n in 1..=count {
        let inserted = store::users::insert_unless_taken(
            change.conn(),
            &console.app,
            &store::new_object_id(),
            &format!("{prefix}-{n:05}@example.com"),
            &format!("Load User {n:05}"),
            &hash,
            now,
        )
        .await?;
        added += u64::from(inserted);
    }
    change.policy_changed();
    change.commit().await?;
    Ok(added)
}

/// Loads a generated application (benchmarks, cross-engine tests): its
/// services and methods, roles, users (all with `password`), role
/// assignments and every cell, in one change. Meant for an empty database.
pub async fn fixture(console: &Console, fixture: &Fixture, password: &str) -> Result<(), Error> {
    let hash = secret::hash_password(password.to_string())
        .await
        .map_err(|_| Error::Internal)?;
    let now = store::now_millis();
    let actor = Actor::System;
    let mut change = Change::begin(console, &actor).await?;
    let mut service_ids = HashMap::new();
    for (service, methods) in &fixture.services {
        let id = store::new_object_id();
        store::services::insert(change.conn(), &console.app, &id, service, "", now).await?;
        for (position, method) in methods.iter().enumerate() {
            let position = i64::try_from(position).unwrap_or(i64::MAX);
            store::services::insert_method(change.conn(), &id, method, Verb::Post, position)
                .await?;
        }
        service_ids.insert(service.clone(), id);
    }
    let mut role_ids = HashMap::new();
    for role in &fixture.roles {
        let id = store::new_object_id();
        store::roles::insert(change.conn(), &console.app, &id, role, now).await?;
        role_ids.insert(role.clone(), id);
    }
    let mut user_ids = HashMap::new();
    for user in &fixture.users {
        let id = store::new_object_id();
        store::users::insert(
            change.conn(),
            &console.app,
            &id,
            &user.email,
            &user.email,
            &hash,
            now,
        )
        .await?;
        for role in &user.roles {
            let role_id = role_ids.get(role).ok_or(Error::Internal)?;
            store::users::add_role(change.conn(), &id, role_id, now).await?;
        }
        user_ids.insert(user.email.clone(), id);
    }
    for cell in &fixture.cells {
        if cell.effect == Effect::Inherit {
            continue;
        }
        let (kind, subject_id) = match &cell.subject {
            Subject::User(email) => (SubjectKind::Users, user_ids.get(email)),
            Subject::Role(role) => (SubjectKind::Roles, role_ids.get(role)),
        };
        let ids = CellIds {
            service_id: service_ids
                .get(&cell.service)
                .ok_or(Error::Internal)?
                .clone(),
            subject_id: subject_id.ok_or(Error::Internal)?.clone(),
        };
        let method = cell.method.as_deref().unwrap_or(ALL_METHODS);
        store::permissions::write(change.conn(), kind, &ids, method, cell.effect, now).await?;
    }
    change.policy_changed();
    change.commit().await
}
