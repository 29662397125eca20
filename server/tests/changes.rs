//! One owner for every change: the grep-able rule that nothing but the
//! change type commits, and what the redesign promised on both engines: a
//! corrupt stored effect stops the load, a server started without a method
//! keeps that method's permissions, and logout's session delete and change
//! count commit together.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::path::{Path, PathBuf};

use policy::cells::SubjectKind;
use policy::decision::{decide, Decision, Effect, Subject};
use policy::wire::{NewUser, Service};
use usecases::{Actor, Console};

on_every_engine!(
    a_corrupt_stored_effect_stops_the_load,
    a_server_without_a_method_keeps_its_permissions,
    logout_deletes_and_counts_in_one_commit,
    servers_starting_at_once_all_register,
);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace folder")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The product's own source (not its tests or benchmarks).
fn product_sources() -> Vec<(String, String)> {
    let root = workspace();
    let mut files = Vec::new();
    for dir in ["app/src", "frontend/src", "server/src", "server/crates"] {
        sources(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .filter(|path| {
            !path
                .components()
                .any(|part| part.as_os_str() == "tests" || part.as_os_str() == "benches")
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable source");
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

/// Functions in the store that write outside a change's transaction: the
/// activity stamps and the removal of sessions that ran out of time, which
/// no other server needs to be told about.
const ACTIVITY_WRITES: [&str; 5] = [
    "touch",
    "delete_expired",
    "touch_session",
    "delete_expired_session",
    "touch_key",
];

#[test]
fn every_write_goes_through_the_change_type() {
    let files = product_sources();
    assert!(
        files.len() > 40,
        "the sources were not found: {}",
        files.len()
    );
    for (name, text) in &files {
        // transactions are opened and committed in one place each
        if text.contains("store::begin(") || text.contains("store::commit(") {
            assert_eq!(
                name, "server/crates/usecases/src/change.rs",
                "{name} opens or commits a transaction itself"
            );
        }
        // and sqlx's own begin and commit are called only by those two
        let direct = text.contains(".begin().await")
            || text
                .match_indices(".commit().await")
                .any(|(at, _)| !text[..at].ends_with("change"));
        if direct {
            assert_eq!(
                name, "server/crates/store/src/lib.rs",
                "{name} uses sqlx transactions directly"
            );
        }
        // SQL that writes lives in the store (string literals start with it)
        let lower = text.to_lowercase();
        let writes_sql = ["\"insert into ", "\"delete from ", "\"update "]
            .iter()
            .any(|sql| lower.contains(sql));
        let in_store = name.starts_with("server/crates/store/src/");
        // the demo `orders` service keeps its own data, like any service would
        let own_data = name == "server/src/services/orders.rs";
        assert!(
            !writes_sql || in_store || own_data,
            "{name} writes SQL outside the store"
        );
    }
    // in the store, a function that writes through the pool (not a change's
    // connection) must be one of the activity stamps
    for (name, text) in files
        .iter()
        .filter(|(name, _)| name.starts_with("server/crates/store/src/"))
    {
        for chunk in text.split("pub async fn ").skip(1) {
            let function = chunk.split('(').next().unwrap_or_default();
            let signature = chunk.split('{').next().unwrap_or_default();
            let body = chunk.to_lowercase();
            let writes = ["\"insert into ", "\"delete from ", "\"update "]
                .iter()
                .any(|sql| body.contains(sql));
            if writes && signature.contains("&Pool") {
                assert!(
                    ACTIVITY_WRITES.contains(&function),
                    "{name}: `{function}` writes through the pool, not inside a change"
                );
            }
        }
    }
}

async fn a_corrupt_stored_effect_stops_the_load(engine: &str) {
    let state = common::state_with(engine, usecases::Settings::default()).await;
    let role = usecases::roles::create(&state, &Actor::System, "Interns")
        .await
        .expect("role");
    usecases::permissions::set_cell(
        &state,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        &role.name,
        "add",
        Effect::Deny,
    )
    .await
    .expect("cell");
    // only a broken database or a hand edit can hold such a value: the
    // check constraint is lifted to write it
    let lift = match engine {
        "sqlite" => "pragma ignore_check_constraints = on",
        _ => "alter table role_permission drop constraint role_permission_effect_check",
    };
    let mut conn = state.pool.acquire().await.expect("connection");
    sqlx::query(lift).execute(&mut *conn).await.expect("lift");
    sqlx::query("update role_permission set effect = 'DENY'")
        .execute(&mut *conn)
        .await
        .expect("corrupt");
    drop(conn);

    // a fresh load refuses, saying what it found; never Inherit (allowed)
    let error = match runtime::Runtime::open(state.pool.clone()).await {
        Ok(_) => panic!("a corrupt effect loaded"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("`DENY`"), "{error}");
    assert!(error.contains("neither `grant` nor `deny`"), "{error}");
    // a running server keeps its last good snapshot: the deny still holds
    assert!(state.runtime.reload().await.is_err());
    let snapshot = state.app_snapshot().expect("snapshot");
    let subjects = [Subject::Role("Interns".to_string())];
    assert!(matches!(
        decide(&snapshot.policy, &subjects, "calculator", "add"),
        Decision::Deny { .. }
    ));
    // and the admin API's export refuses rather than showing Inherit
    assert!(usecases::permissions::export(&state).await.is_err());

    // setting the cell repairs it, audited with what was there
    let repaired = usecases::permissions::set_cell(
        &state,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        "Interns",
        "add",
        Effect::Deny,
    )
    .await
    .expect("repair");
    assert_eq!(repaired.change.after, Effect::Deny);
    state.runtime.reload().await.expect("loads again");
    let exported = usecases::permissions::export(&state).await.expect("export");
    assert_eq!(
        exported.services["calculator"].roles["Interns"].get("add"),
        Some(&Effect::Deny.into())
    );
    let audit = usecases::audit::list(&state, &Default::default(), 0, 5)
        .await
        .expect("audit");
    let before = audit.items[0].before.as_ref().expect("before").to_string();
    assert!(before.contains("unreadable `DENY`"), "{before}");
}

/// The demo services as a server offers them, without `calculator.add`.
fn without_add() -> Vec<Service> {
    let mut offered = server::services::Registry::with_demo_services().descriptions();
    for service in &mut offered {
        service
            .methods
            .retain(|m| !(service.name == "calculator" && m.name == "add"));
    }
    offered
}

async fn a_server_without_a_method_keeps_its_permissions(engine: &str) {
    let state = common::state_with(engine, usecases::Settings::default()).await;
    let actor = Actor::Admin("ops@example.com".to_string());
    usecases::roles::create(&state, &actor, "Interns")
        .await
        .expect("role");
    usecases::permissions::set_cell(
        &state,
        &actor,
        "calculator",
        SubjectKind::Roles,
        "Interns",
        "add",
        Effect::Deny,
    )
    .await
    .expect("cell");
    let cell = |document: &policy::cells::PermissionDocument| {
        document
            .services
            .get("calculator")
            .and_then(|service| service.roles.get("Interns"))
            .and_then(|cells| cells.get("add"))
            .map(|cell| cell.effect)
    };

    // an older server starts: it does not offer `add`
    usecases::services::register(&state, &without_add())
        .await
        .expect("register");
    let exported = usecases::permissions::export(&state).await.expect("export");
    assert_eq!(
        cell(&exported),
        Some(Effect::Deny),
        "the permission was dropped"
    );
    let services = usecases::services::list(&state).await.expect("services");
    let add = services
        .iter()
        .find(|s| s.name == "calculator")
        .and_then(|s| s.methods.iter().find(|m| m.name == "add"))
        .expect("add is still listed");
    assert!(add.missing);
    let audit = usecases::audit::list(&state, &Default::default(), 0, 50)
        .await
        .expect("audit");
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.action == "service.method.missing" && e.target == "method:calculator.add"),
        "{:?}",
        audit.items
    );
    // removing a method the server still offers is refused
    assert!(matches!(
        usecases::services::remove_missing_method(&state, &actor, "calculator", "divide").await,
        Err(usecases::Error::Forbidden(_))
    ));

    // the newer server starts again: `add` is back, with its permission
    usecases::services::register(
        &state,
        &server::services::Registry::with_demo_services().descriptions(),
    )
    .await
    .expect("register");
    let services = usecases::services::list(&state).await.expect("services");
    assert!(services.iter().flat_map(|s| &s.methods).all(|m| !m.missing));
    let exported = usecases::permissions::export(&state).await.expect("export");
    assert_eq!(cell(&exported), Some(Effect::Deny));

    // gone for good only when an admin removes it, audited
    usecases::services::register(&state, &without_add())
        .await
        .expect("register");
    usecases::services::remove_missing_method(&state, &actor, "calculator", "add")
        .await
        .expect("remove");
    let exported = usecases::permissions::export(&state).await.expect("export");
    assert_eq!(cell(&exported), None);
    let audit = usecases::audit::list(&state, &Default::default(), 0, 50)
        .await
        .expect("audit");
    assert!(audit
        .items
        .iter()
        .any(|e| e.action == "service.method.remove" && e.actor == "admin:ops@example.com"));
}

async fn sessions_counter(state: &Console) -> i64 {
    store::counters::read(&state.pool)
        .await
        .expect("counters")
        .sessions
}

async fn logout_deletes_and_counts_in_one_commit(engine: &str) {
    let state = common::state_with(engine, usecases::Settings::default()).await;
    usecases::users::create(
        &state,
        &Actor::System,
        NewUser {
            email: "alice@example.com".to_string(),
            name: "Alice".to_string(),
            password: "password-1".to_string(),
        },
    )
    .await
    .expect("user");
    let login = |state: Console| async move {
        let (_, token) = usecases::login::login(&state, "alice@example.com", "password-1".into())
            .await
            .expect("login");
        token.reveal().to_string()
    };

    // a logout that cannot count its change must not delete the session
    // either: other servers would go on accepting a token that is gone here
    let token = login(state.clone()).await;
    let before = sessions_counter(&state).await;
    let mut conn = state.pool.acquire().await.expect("connection");
    sqlx::query("alter table policy_version rename to policy_version_away")
        .execute(&mut *conn)
        .await
        .expect("break the counter");
    assert!(usecases::login::logout(&state, &token).await.is_err());
    sqlx::query("alter table policy_version_away rename to policy_version")
        .execute(&mut *conn)
        .await
        .expect("restore the counter");
    drop(conn);
    assert_eq!(store::sessions::count(&state.pool).await.expect("count"), 1);
    assert_eq!(sessions_counter(&state).await, before);

    // the same logout, counter in place: both happen, in one commit
    assert!(usecases::login::logout(&state, &token)
        .await
        .expect("logout"));
    assert_eq!(store::sessions::count(&state.pool).await.expect("count"), 0);
    assert_eq!(sessions_counter(&state).await, before + 1);
    assert!(!usecases::login::is_valid_user_token(&state, &token)
        .await
        .expect("check"));
}

/// Servers starting at the same moment on one database, of the same version
/// (both adding a new service) and of two versions (one without it): every
/// registration succeeds, one after the other, and nothing is lost.
async fn servers_starting_at_once_all_register(engine: &str) {
    let state = common::state_with(engine, usecases::Settings::default()).await;
    let mut newer = server::services::Registry::with_demo_services().descriptions();
    newer.push(Service::builtin(
        "zeta",
        "a service only the newer version offers",
        vec![policy::wire::Method::offered(
            "ping",
            policy::wire::Verb::Get,
            "answers",
            serde_json::json!({}),
        )],
    ));
    let older = server::services::Registry::with_demo_services().descriptions();
    for round in 0..5 {
        let (a, b, c) = tokio::join!(
            usecases::services::register(&state, &newer),
            usecases::services::register(&state, &newer),
            usecases::services::register(&state, &older),
        );
        assert!(
            a.is_ok() && b.is_ok() && c.is_ok(),
            "round {round}: {a:?} {b:?} {c:?}"
        );
    }
    let services = usecases::services::list(&state).await.expect("services");
    assert_eq!(services.iter().filter(|s| s.name == "zeta").count(), 1);
    usecases::services::register(&state, &newer)
        .await
        .expect("register");
    let services = usecases::services::list(&state).await.expect("services");
    assert!(services.iter().flat_map(|s| &s.methods).all(|m| !m.missing));
}
