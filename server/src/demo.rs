//! The demo data set `make run` starts with, and bulk data for load tests
//! and benchmarks: all written through the use cases, as changes.

use policy::cells::SubjectKind;
use policy::decision::Effect;
use policy::wire::NewUser;
use usecases::admins::ensure_admin;
use usecases::{Actor, Console};
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
/// Seeds the demo data set into a database without application users;
/// whether it did.
pub async fn seed(console: &Console) -> Result<bool, String> {
    let failed =
        |what: &str, error: &dyn std::fmt::Display| format!("cannot seed the demo {what}: {error}");
    ensure_admin(console, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
        .await
        .map_err(|error| failed("admin", &error))?;
    let empty = usecases::seed::no_users_yet(console)
        .await
        .map_err(|error| failed("users", &error))?;
    if !empty {
        return Ok(false);
    }
    let actor = Actor::System;
    for role in ["Sales", "Support", "Managers"] {
        usecases::roles::create(console, &actor, role)
            .await
            .map_err(|error| failed("roles", &error))?;
    }
    for (email, name, roles) in USERS {
        let user = usecases::users::create(
            console,
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
            usecases::users::assign_role(console, &actor, &user.object_id, role)
                .await
                .map_err(|error| failed("users", &error))?;
        }
    }
    for (service, kind, subject, method, effect) in PERMISSIONS {
        usecases::permissions::set_cell(console, &actor, service, kind, subject, method, effect)
            .await
            .map_err(|error| failed("permissions", &error))?;
    }
    Ok(true)
}

/// Adds `count` users `{prefix}-00001@example.com`… (name `Load User 00001`…)
/// for load tests and benchmarks, in one change. Returns how many were added.
pub async fn seed_bulk_users(console: &Console, prefix: &str, count: u32) -> Result<u64, String> {
    usecases::seed::bulk_users(console, prefix, count, DEMO_USER_PASSWORD)
        .await
        .map_err(|error| format!("cannot seed users: {error}"))
}

/// Loads a generated application (benchmarks, cross-engine tests), all its
/// users with [`DEMO_USER_PASSWORD`], in one change. Meant for an empty database.
pub async fn seed_fixture(console: &Console, fixture: &fixture::Fixture) -> Result<(), String> {
    usecases::seed::fixture(console, fixture, DEMO_USER_PASSWORD)
        .await
        .map_err(|error| format!("cannot seed the fixture: {error}"))
}

/// The demo's HTTP service: the pet store this server serves itself
/// (`crate::demo_upstream`), imported from its OpenAPI document, with
/// `deletePet` denied to anonymous callers, when the demo data is seeded
/// (`fresh`). Started again on another address, it follows, as long as it
/// still points at a demo upstream; deleted, it stays deleted.
pub async fn seed_upstream(console: &Console, base_url: &str, fresh: bool) -> Result<(), String> {
    use crate::demo_upstream::{PETSTORE_OPENAPI, SERVICE};
    let failed = |error: &dyn std::fmt::Display| format!("cannot seed the demo upstream: {error}");
    let actor = Actor::System;
    let services = usecases::services::list(console)
        .await
        .map_err(|error| failed(&error))?;
    match services.iter().find(|service| service.name == SERVICE) {
        Some(service) => {
            let moved = service.upstream.as_ref().is_some_and(|settings| {
                settings.base_url != base_url
                    && settings.base_url.ends_with(crate::demo_upstream::PREFIX)
            });
            if moved {
                let changes = policy::upstream::ServiceChanges {
                    base_url: Some(base_url.to_string()),
                    ..Default::default()
                };
                usecases::upstreams::update(console, &actor, SERVICE, changes)
                    .await
                    .map_err(|error| failed(&error))?;
            }
        }
        None if !fresh => {}
        None => {
            let request = policy::upstream::ImportRequest {
                name: SERVICE.to_string(),
                base_url: Some(base_url.to_string()),
                timeout_ms: Some(5_000),
                new_methods_deny_anonymous: Some(false),
                document: serde_json::Value::String(PETSTORE_OPENAPI.to_string()),
            };
            usecases::upstreams::import(console, &actor, request, false)
                .await
                .map_err(|error| failed(&error))?;
            usecases::permissions::set_cell(
                console,
                &actor,
                SERVICE,
                SubjectKind::Roles,
                "NotAuthenticatedUser",
                "deletePet",
                Effect::Deny,
            )
            .await
            .map_err(|error| failed(&error))?;
        }
    }
    Ok(())
}
