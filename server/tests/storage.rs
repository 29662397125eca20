//! The storage layer on SQLite and PostgreSQL: migrations, console admins and
//! their sessions.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::time::Duration;

use common::{state_for, url_for};
use usecases::admins::{
    admin_count, admin_for_token, create_admin, ensure_admin, sign_in as start_session,
    sign_out as end_session, CreateAdminError,
};
use usecases::Error;

on_every_engine!(
    migrations_apply_once_and_again,
    admins_are_unique_case_insensitively,
    bad_admin_input_is_refused,
    sessions_open_with_the_right_password_only,
    sessions_end_on_sign_out,
    idle_sessions_expire,
    a_database_of_the_previous_version_upgrades_in_place,
);

const HOUR: Duration = Duration::from_secs(3600);

/// A database with one admin, signed in.
async fn signed_in(engine: &str) -> (usecases::Console, runtime::secret::SessionToken) {
    let state = state_for(engine, HOUR).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("create");
    let (_, token) = start_session(&state, "ops@example.com", "password-1".into())
        .await
        .expect("sign in");
    (state, token)
}

async fn migrations_apply_once_and_again(engine: &str) {
    let url = url_for(engine).await;
    let (pool, engine) = store::connect_and_migrate(&url).await.expect("first start");
    let console = usecases::Console::open(pool.clone(), engine, usecases::Settings::default())
        .await
        .expect("open");
    create_admin(&console, "first@example.com", "password-1")
        .await
        .expect("admin");
    pool.close().await;
    // a second start applies nothing new and keeps the data
    let (pool, engine) = store::connect_and_migrate(&url)
        .await
        .expect("second start");
    let console = usecases::Console::open(pool, engine, usecases::Settings::default())
        .await
        .expect("open");
    assert_eq!(admin_count(&console).await.expect("count"), 1);
}

async fn admins_are_unique_case_insensitively(engine: &str) {
    let state = state_for(engine, HOUR).await;
    let admin = create_admin(&state, " Ops@Example.com ", "password-1")
        .await
        .expect("create");
    assert_eq!(admin.email, "ops@example.com");
    let again = create_admin(&state, "OPS@example.COM", "password-2").await;
    assert!(matches!(again, Err(CreateAdminError::Exists(email)) if email == "ops@example.com"));
    assert!(!ensure_admin(&state, "ops@example.com", "password-3")
        .await
        .expect("ensure"));
    assert!(ensure_admin(&state, "other@example.com", "password-3")
        .await
        .expect("ensure"));
    assert_eq!(admin_count(&state).await.expect("count"), 2);
}

async fn bad_admin_input_is_refused(engine: &str) {
    let state = state_for(engine, HOUR).await;
    assert!(matches!(
        create_admin(&state, "not-an-email", "password-1").await,
        Err(CreateAdminError::InvalidEmail(_))
    ));
    assert!(matches!(
        create_admin(&state, "a@example.com", "short").await,
        Err(CreateAdminError::WeakPassword(_))
    ));
    assert_eq!(admin_count(&state).await.expect("count"), 0);
}

async fn sessions_open_with_the_right_password_only(engine: &str) {
    let state = state_for(engine, HOUR).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("create");

    let wrong = start_session(&state, "ops@example.com", "password-2".into()).await;
    assert_eq!(wrong.err(), Some(Error::InvalidCredentials));
    let unknown = start_session(&state, "nobody@example.com", "password-1".into()).await;
    assert_eq!(unknown.err(), Some(Error::InvalidCredentials));

    let (admin, token) = start_session(&state, "OPS@example.com", "password-1".into())
        .await
        .expect("sign in");
    assert_eq!(admin.email, "ops@example.com");
    let found = admin_for_token(&state, token.reveal(), HOUR)
        .await
        .expect("lookup");
    assert_eq!(found.map(|a| a.email).as_deref(), Some("ops@example.com"));

    // the database never holds the token itself
    let stored: Vec<String> = sqlx::query_scalar("select token_hash from console_session")
        .fetch_all(&state.pool)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token.reveal());

    let (_, second) = start_session(&state, "ops@example.com", "password-1".into())
        .await
        .expect("second sign in");
    assert_ne!(
        second.reveal(),
        token.reveal(),
        "every sign-in gets a new token"
    );
    assert!(admin_for_token(&state, "made-up-token", HOUR)
        .await
        .expect("lookup")
        .is_none());
}

async fn sessions_end_on_sign_out(engine: &str) {
    let (state, token) = signed_in(engine).await;
    end_session(&state, token.reveal()).await.expect("sign out");
    assert!(admin_for_token(&state, token.reveal(), HOUR)
        .await
        .expect("lookup")
        .is_none());
}

async fn idle_sessions_expire(engine: &str) {
    let (state, token) = signed_in(engine).await;
    let timeout = Duration::from_millis(300);
    // activity renews the session
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(admin_for_token(&state, token.reveal(), timeout)
            .await
            .expect("lookup")
            .is_some());
    }
    // idleness past the timeout ends it, for good
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(admin_for_token(&state, token.reveal(), timeout)
        .await
        .expect("lookup")
        .is_none());
    assert!(admin_for_token(&state, token.reveal(), HOUR)
        .await
        .expect("lookup")
        .is_none());
}

/// A database as the previous version left it (every migration before
/// applications): a user holding a role and a custom role called like a
/// key role. After the upgrade, all of it is the default application's,
/// which has its six keys; the custom `JSUser` lives on as `JSUser custom`
/// with its user, and the key role `JSUser` starts empty.
async fn a_database_of_the_previous_version_upgrades_in_place(engine: &str) {
    use policy::cells::SubjectKind;
    use policy::decision::Effect;
    use usecases::Actor;

    let url = url_for(engine).await;
    let (pool, engine) = store::connect_and_migrate_until(&url, 20261130000011)
        .await
        .expect("the previous version");
    assert!(
        usecases::Console::open(pool.clone(), engine, usecases::Settings::default())
            .await
            .is_err(),
        "this version needs the application tables"
    );
    for sql in [
        "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at) \
         values ('U1', 'old@example.com', 'Old', 'x', 'ENABLED', 0, 0)",
        "insert into role (role_id, name, name_key, is_system, created_at, updated_at) \
         values ('R1', 'JSUser', 'jsuser', 0, 0, 0)",
        "insert into role (role_id, name, name_key, is_system, created_at, updated_at) \
         values ('R2', 'Sales', 'sales', 0, 0, 0)",
        "insert into user_role (app_user_id, role_id, created_at) values ('U1', 'R2', 0)",
        "insert into user_role (app_user_id, role_id, created_at) values ('U1', 'R1', 0)",
        "insert into service (service_id, name, description, created_at, updated_at) \
         values ('S1', 'calculator', '', 0, 0)",
        "insert into service_method (service_id, name, verb, description, position) \
         values ('S1', 'add', 'GET', '', 0)",
        "insert into user_permission (service_id, app_user_id, method_name, effect, updated_at) \
         values ('S1', 'U1', 'add', 'deny', 0)",
        "insert into role_permission (service_id, role_id, method_name, effect, updated_at) \
         values ('S1', 'R2', '*', 'grant', 0)",
        "insert into user_session (token_hash, app_user_id, created_at, last_seen_at) \
         values ('H1', 'U1', 0, 0)",
        "insert into login_attempt (email, failed_logins, locked_until, updated_at) \
         values ('old@example.com', 2, null, 0)",
        "insert into audit_event (created_at, actor, action, target) \
         values (1, 'admin:ops@example.com', 'role.create', 'role:Sales')",
        "insert into audit_event (created_at, actor, action, target) \
         values (2, 'admin:ops@example.com', 'admin.create', 'admin:new@example.com')",
    ] {
        sqlx::query(sql).execute(&pool).await.expect("old data");
    }
    pool.close().await;

    let (pool, engine) = store::connect_and_migrate(&url).await.expect("upgrade");
    let console = usecases::Console::open(pool, engine, usecases::Settings::default())
        .await
        .expect("open");
    let apps = usecases::apps::list(&console).await.expect("apps");
    assert_eq!(apps.len(), 1);
    assert!(apps[0].default);
    assert_eq!(apps[0].id.len(), 36, "{}", apps[0].id);
    let keys = usecases::apps::keys(&console.in_app(&apps[0].id).expect("app"))
        .await
        .expect("keys");
    assert_eq!(keys.len(), 6);
    let mut values: Vec<&str> = keys.iter().map(|key| key.key.as_str()).collect();
    values.sort_unstable();
    values.dedup();
    assert_eq!(values.len(), 6, "keys are distinct");
    let user = usecases::users::get(&console, "U1")
        .await
        .expect("the old user");
    assert_eq!(user.roles, ["JSUser custom", "Sales"]);
    // cells, sessions, login counts and audit events survive the rebuilt
    // tables, in the default application
    let export = usecases::permissions::export(&console)
        .await
        .expect("export");
    assert_eq!(
        serde_json::to_value(&export).expect("json")["services"]["calculator"],
        serde_json::json!({
            "users": {"old@example.com": {"add": "deny"}},
            "roles": {"Sales": {"*": "grant"}},
        })
    );
    assert_eq!(
        store::sessions::count(&console.pool).await.expect("count"),
        1
    );
    let session = store::sessions::find(&console.pool, "H1")
        .await
        .expect("find")
        .expect("the old session");
    assert!(session.application_id.eq_ignore_ascii_case(&console.app));
    let attempts: i64 = sqlx::query_scalar(
        "select failed_logins from login_attempt where application_id = $1 and email = 'old@example.com'",
    )
    .bind(&*console.app)
    .fetch_one(&console.pool)
    .await
    .expect("the old count");
    assert_eq!(attempts, 2);
    let audit = usecases::audit::list(&console, &policy::wire::AuditFilter::default(), 0, 10)
        .await
        .expect("audit");
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|event| event.action.as_str())
        .collect();
    assert_eq!(actions, ["admin.create", "role.create"]);
    let belongs: Vec<Option<String>> =
        sqlx::query_scalar("select application_id from audit_event order by audit_event_id")
            .fetch_all(&console.pool)
            .await
            .expect("audit rows");
    assert_eq!(belongs, [Some(console.app.to_string()), None]);
    // the rebuilt tables still cascade: the old user goes with their cells
    // and session
    usecases::users::delete(&console, &Actor::System, "U1")
        .await
        .expect("delete");
    let export = usecases::permissions::export(&console)
        .await
        .expect("export");
    assert_eq!(
        serde_json::to_value(&export).expect("json")["services"]["calculator"]["users"],
        serde_json::json!({})
    );
    assert_eq!(
        store::sessions::count(&console.pool).await.expect("count"),
        0
    );
    let roles = usecases::roles::list(&console).await.expect("roles");
    let js = roles
        .iter()
        .find(|role| role.name == "JSUser")
        .expect("JSUser");
    assert!(js.system, "JSUser is the key role");
    let custom = roles
        .iter()
        .find(|role| role.name == "JSUser custom")
        .expect("the old custom role");
    assert!(!custom.system);
    assert_eq!(roles.iter().filter(|role| role.system).count(), 8);
    // the key role's cells work like any role's, for calls with the JS key
    let registry = server::services::Registry::with_demo_services();
    usecases::services::register(&console, &registry.descriptions())
        .await
        .expect("services");
    usecases::permissions::set_cell(
        &console,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        "JSUser",
        "*",
        Effect::Deny,
    )
    .await
    .expect("deny");
    let snapshot = console.app_snapshot().expect("snapshot");
    let js_key = keys.iter().find(|key| key.name == "JS").expect("JS key");
    let key = snapshot.key(&js_key.key).expect("resolved");
    let anonymous = snapshot.subjects(None).expect("anonymous");
    let with_key = policy::decision::decide_as(
        &snapshot.policy,
        Some(&key.role),
        &anonymous,
        "calculator",
        "add",
    );
    assert!(!with_key.is_allowed(), "{with_key}");
    let without =
        policy::decision::decide_as(&snapshot.policy, None, &anonymous, "calculator", "add");
    assert!(without.is_allowed(), "{without}");
}
