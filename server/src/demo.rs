//! The demo data set `make run` starts with.

use app::admins::ssr::ensure_admin;
use app::audit::ssr::Actor;
use app::decision::Effect;
use app::permissions::SubjectKind;
use app::state::ConsoleState;
use app::users::NewUser;

pub const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-password";
/// Every demo application user signs in with this password.
pub const DEMO_USER_PASSWORD: &str = "demo-password";

const USERS: [(&str, &str, &[&str]); 3] = [
    ("alice@example.com", "Alice Archer", &["Sales", "Managers"]),
    ("bob@example.com", "Bob Baker", &["Support"]),
    ("carol@example.com", "Carol Chen", &[]),
];

/// (service, kind, subject, method or `*`, effect)
const PERMISSIONS: [(&str, SubjectKind, &str, &str, Effect); 4] = [
    (
        "orders",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "*",
        Effect::Deny,
    ),
    (
        "orders",
        SubjectKind::Roles,
        "Support",
        "deleteOrder",
        Effect::Deny,
    ),
    (
        "orders",
        SubjectKind::Roles,
        "Managers",
        "deleteOrder",
        Effect::Grant,
    ),
    (
        "orders",
        SubjectKind::Users,
        "carol@example.com",
        "addOrder",
        Effect::Deny,
    ),
];

/// Seeds what is missing: the admin always; users, roles and permissions
/// only into a database without application users, so it never undoes edits.
pub async fn seed(state: &ConsoleState) -> Result<(), String> {
    let failed =
        |what: &str, error: &dyn std::fmt::Display| format!("cannot seed the demo {what}: {error}");
    ensure_admin(&state.pool, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
        .await
        .map_err(|error| failed("admin", &error))?;
    let existing = app::users::ssr::list(&state.pool, "", 0, 1)
        .await
        .map_err(|error| failed("users", &error))?;
    if existing.total > 0 {
        return Ok(());
    }
    let actor = Actor::System;
    for role in ["Sales", "Support", "Managers"] {
        app::roles::ssr::create(state, &actor, role)
            .await
            .map_err(|error| failed("roles", &error))?;
    }
    for (email, name, roles) in USERS {
        let user = app::users::ssr::create(
            state,
            &actor,
            NewUser {
                email: email.to_string(),
                name: name.to_string(),
                password: DEMO_USER_PASSWORD.to_string(),
            },
        )
        .await
        .map_err(|error| failed("users", &error))?;
        for role in roles {
            app::users::ssr::assign_role(state, &actor, &user.object_id, role)
                .await
                .map_err(|error| failed("users", &error))?;
        }
    }
    for (service, kind, subject, method, effect) in PERMISSIONS {
        app::permissions::ssr::set_cell(state, &actor, service, kind, subject, method, effect)
            .await
            .map_err(|error| failed("permissions", &error))?;
    }
    Ok(())
}

/// Adds `count` users `{prefix}-00001@example.com`… (name `Load User 00001`…)
/// for load tests and benchmarks, in one transaction, sharing one password
/// hash so that 10,000 users take about a second. Returns how many were added.
pub async fn seed_bulk_users(
    state: &ConsoleState,
    prefix: &str,
    count: u32,
) -> Result<u64, String> {
    let failed = |error: &dyn std::fmt::Display| format!("cannot seed users: {error}");
    let hash = app::secret::hash_password(DEMO_USER_PASSWORD.to_string())
        .await
        .map_err(|error| failed(&error))?;
    let now = app::db::now_millis();
    let mut tx = state.pool.begin().await.map_err(|error| failed(&error))?;
    let mut added = 0;
    for n in 1..=count {
        let inserted = sqlx::query(
            "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at) \
             values ($1, $2, $3, $4, 'ENABLED', $5, $5) on conflict (email) do nothing",
        )
        .bind(app::db::new_object_id())
        .bind(format!("{prefix}-{n:05}@example.com"))
        .bind(format!("Load User {n:05}"))
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| failed(&error))?;
        added += inserted.rows_affected();
    }
    tx.commit().await.map_err(|error| failed(&error))?;
    state
        .gateway
        .reload(&state.pool)
        .await
        .map_err(|error| failed(&error))?;
    Ok(added)
}

/// Loads a generated application (benchmarks, cross-engine tests): its
/// services and methods, roles, users (all with [`DEMO_USER_PASSWORD`]),
/// role assignments and every cell, in one transaction, then reloads the
/// snapshot. Meant for an empty database.
pub async fn seed_fixture(
    state: &ConsoleState,
    fixture: &app::fixture::Fixture,
) -> Result<(), String> {
    use std::collections::HashMap;

    use app::db::new_object_id;
    use app::decision::Subject;

    let failed = |error: &dyn std::fmt::Display| format!("cannot seed the fixture: {error}");
    let hash = app::secret::hash_password(DEMO_USER_PASSWORD.to_string())
        .await
        .map_err(|error| failed(&error))?;
    let now = app::db::now_millis();
    let mut tx = state.pool.begin().await.map_err(|error| failed(&error))?;
    let mut service_ids = HashMap::new();
    for (service, methods) in &fixture.services {
        let id = new_object_id();
        sqlx::query(
            "insert into service (service_id, name, description, created_at, updated_at) values ($1, $2, '', $3, $3)",
        )
        .bind(&id)
        .bind(service)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| failed(&error))?;
        for (position, method) in methods.iter().enumerate() {
            sqlx::query(
                "insert into service_method (service_id, name, verb, description, position) values ($1, $2, 'POST', '', $3)",
            )
            .bind(&id)
            .bind(method)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|error| failed(&error))?;
        }
        service_ids.insert(service.clone(), id);
    }
    let mut role_ids = HashMap::new();
    for role in &fixture.roles {
        let id = new_object_id();
        sqlx::query(
            "insert into role (role_id, name, name_key, created_at, updated_at) values ($1, $2, $3, $4, $4)",
        )
        .bind(&id)
        .bind(role)
        .bind(role.to_lowercase())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| failed(&error))?;
        role_ids.insert(role.clone(), id);
    }
    let mut user_ids = HashMap::new();
    for user in &fixture.users {
        let id = new_object_id();
        sqlx::query(
            "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at) \
             values ($1, $2, $2, $3, 'ENABLED', $4, $4)",
        )
        .bind(&id)
        .bind(&user.email)
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| failed(&error))?;
        for role in &user.roles {
            sqlx::query(
                "insert into user_role (app_user_id, role_id, created_at) values ($1, $2, $3)",
            )
            .bind(&id)
            .bind(&role_ids[role])
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|error| failed(&error))?;
        }
        user_ids.insert(user.email.clone(), id);
    }
    for cell in &fixture.cells {
        let (sql, subject_id) = match &cell.subject {
            Subject::User(email) => (
                "insert into user_permission (service_id, app_user_id, method_name, effect, updated_at) values ($1, $2, $3, $4, $5)",
                &user_ids[email],
            ),
            Subject::Role(role) => (
                "insert into role_permission (service_id, role_id, method_name, effect, updated_at) values ($1, $2, $3, $4, $5)",
                &role_ids[role],
            ),
        };
        let effect = match cell.effect {
            Effect::Grant => "grant",
            Effect::Deny => "deny",
            Effect::Inherit => continue,
        };
        sqlx::query(sql)
            .bind(&service_ids[&cell.service])
            .bind(subject_id)
            .bind(
                cell.method
                    .as_deref()
                    .unwrap_or(app::permissions::ALL_METHODS),
            )
            .bind(effect)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|error| failed(&error))?;
    }
    tx.commit().await.map_err(|error| failed(&error))?;
    state
        .gateway
        .changed(&state.pool)
        .await
        .map_err(|error| failed(&error))
}
