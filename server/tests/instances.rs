//! Several server processes on one PostgreSQL: a change made through one is
//! enforced by the other within moments; sessions ended on one are dead on
//! the other; a server whose connections die and come back reloads
//! everything; a server without its database keeps answering from its
//! snapshot and refuses writes with 503.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{header, Request, StatusCode};
use policy::cells::SubjectKind;
use policy::decision::{decide, Effect, Subject};
use serde_json::{json, Value};
use server::Gateway;
use sqlx::{Connection, Executor};
use usecases::Actor;
use usecases::{Console, Settings};

const POLL: Duration = Duration::from_millis(50);

/// One "server": its own pool, gateway, refresher and router.
async fn instance(url: &str) -> (Console, Gateway) {
    instance_polling(url, POLL).await
}

/// [`instance`] whose refresher polls every `every`.
async fn instance_polling(url: &str, every: Duration) -> (Console, Gateway) {
    let (pool, engine) = store::connect_and_migrate(url).await.expect("connect");
    let settings = Settings {
        registration: true,
        ..Settings::default()
    };
    let state = Console::open(pool, engine, settings).await.expect("open");
    let registry = Arc::new(server::services::Registry::with_demo_services());
    usecases::services::register(&state, &registry.descriptions())
        .await
        .expect("sync");
    state.runtime.clone().spawn_refresher(every);
    let router = common::router_for(&state);
    (state, router)
}

/// Sets NotAuthenticatedUser's cell on `method` of the calculator.
async fn set_anonymous(
    state: &Console,
    method: &str,
    effect: Effect,
) -> Result<policy::cells::CellChange, usecases::Error> {
    usecases::permissions::set_cell(
        state,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        method,
        effect,
    )
    .await
    .map(|set| set.change)
}

fn anonymous_add_allowed(state: &Console) -> bool {
    let snapshot = state.app_snapshot().expect("snapshot");
    decide(
        &snapshot.policy,
        &[Subject::Role("NotAuthenticatedUser".into())],
        "calculator",
        "add",
    )
    .is_allowed()
}

/// Waits (up to 5 s) for a condition; returns how long it took.
async fn within(mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

/// The status and JSON body of the answer (`Null` when it is not JSON).
async fn call(router: &Gateway, request: Request<Body>) -> (StatusCode, Value) {
    let reply = common::send(router, request).await;
    (reply.status, reply.json)
}

fn whoami(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/api/services/echo/whoami")
        .header("user-token", token)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn a_change_on_one_server_is_enforced_by_the_other() {
    let url = common::postgres_url().await;
    let (a, _) = instance(&url).await;
    let (b, _) = instance(&url).await;
    assert!(anonymous_add_allowed(&b));
    set_anonymous(&a, "add", Effect::Deny).await.expect("deny");
    let seen = within(|| !anonymous_add_allowed(&b)).await;
    println!("a deny made on server A was enforced by server B after {seen:?}");
    assert!(seen < Duration::from_secs(1), "{seen:?}");
    set_anonymous(&a, "add", Effect::Inherit)
        .await
        .expect("inherit");
    within(|| anonymous_add_allowed(&b)).await;
}

#[tokio::test]
async fn a_logout_on_one_server_kills_the_token_on_the_other() {
    let url = common::postgres_url().await;
    let (a, router_a) = instance(&url).await;
    let (_b, router_b) = instance(&url).await;
    usecases::users::create(
        &a,
        &Actor::System,
        policy::wire::NewUser {
            email: "alice@example.com".into(),
            name: "Alice".into(),
            password: "password-1".into(),
        },
    )
    .await
    .expect("user");
    let login = Request::builder()
        .method("POST")
        .uri("/api/users/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"login": "alice@example.com", "password": "password-1"}).to_string(),
        ))
        .expect("request");
    let (_, user) = call(&router_a, login).await;
    let token = user["user-token"].as_str().expect("token").to_string();
    // B has the user (after its refresh) and caches the session
    let started = Instant::now();
    loop {
        if call(&router_b, whoami(&token)).await.0 == StatusCode::OK {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let logout = Request::builder()
        .uri("/api/users/logout")
        .header("user-token", &token)
        .body(Body::empty())
        .expect("request");
    assert_eq!(call(&router_a, logout).await.0, StatusCode::OK);
    let started = Instant::now();
    loop {
        let (status, body) = call(&router_b, whoami(&token)).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["code"], json!(3064));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B still accepts a logged-out token"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "a logout on server A was enforced by server B after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_whose_connections_die_reloads_everything_when_they_return() {
    let url = common::postgres_url().await;
    let (a, _) = instance(&url).await;
    let (b, _) = instance(&url).await;
    let database = url.rsplit('/').next().expect("database name").to_string();
    // kill every connection to the database, then change it at once
    let admin_url = std::env::var("CONSOLE_TEST_POSTGRES_URL").expect("admin url");
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .expect("admin");
    admin
        .execute(format!("select pg_terminate_backend(pid) from pg_stat_activity where datname = '{database}'").as_str())
        .await
        .expect("terminate");
    set_anonymous(&a, "*", Effect::Deny)
        .await
        .expect("deny after reconnect");
    let seen = within(|| !anonymous_add_allowed(&b)).await;
    println!("after its connections were killed, server B saw the change after {seen:?}");
}

#[tokio::test]
async fn without_its_database_a_server_answers_from_its_snapshot_and_refuses_writes() {
    let url = common::postgres_url().await;
    let (a, _) = instance(&url).await;
    set_anonymous(&a, "divide", Effect::Deny)
        .await
        .expect("deny");
    let (b, router_b) = instance(&url).await;
    b.pool.close().await;
    let get = |path: &str| {
        Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request")
    };
    // checks go on, from the snapshot: allowed stays allowed, denied stays denied
    assert_eq!(
        call(&router_b, get("/api/services/calculator/add?a=1&b=2"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = call(&router_b, get("/api/services/calculator/divide?a=1&b=2")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!(8000))
    );
    // a token cannot be checked: refused, never anonymous
    let (status, body) = call(&router_b, whoami("some-token")).await;
    assert!(
        status == StatusCode::SERVICE_UNAVAILABLE && body["code"] == json!(8010),
        "{status} {body}"
    );
    // writes fail with a clear 503 and change nothing
    let change = set_anonymous(&b, "add", Effect::Deny).await;
    assert_eq!(change.err(), Some(usecases::Error::Unavailable));
    assert!(anonymous_add_allowed(&a));
    assert!(anonymous_add_allowed(&b));
}

fn json_post(uri: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

async fn log_in(router: &Gateway, email: &str) -> String {
    let (status, user) = call(
        router,
        json_post(
            "/api/users/login",
            json!({"login": email, "password": "password-1"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    user["user-token"].as_str().expect("token").to_string()
}

async fn register(router: &Gateway, email: &str) {
    let (status, body) = call(
        router,
        json_post(
            "/api/users/register",
            json!({"email": email, "password": "password-1", "name": "New"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn log_out(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/api/users/logout")
        .header("user-token", token)
        .body(Body::empty())
        .expect("request")
}

/// Polls `router` with `token` until it answers `status` (up to 5 s).
async fn until_status(router: &Gateway, token: &str, status: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        if call(router, whoami(token)).await.0 == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn one_logout_evicts_that_token_only_on_the_other_server() {
    let url = common::postgres_url().await;
    let (_a, router_a) = instance(&url).await;
    let (b, router_b) = instance(&url).await;
    register(&router_a, "alice@example.com").await;
    register(&router_a, "bob@example.com").await;
    let first = log_in(&router_a, "alice@example.com").await;
    let second = log_in(&router_a, "alice@example.com").await;
    let bobs = log_in(&router_a, "bob@example.com").await;
    for token in [&first, &second, &bobs] {
        until_status(&router_b, token, StatusCode::OK).await;
    }
    assert_eq!(b.runtime.cached_sessions(), 3);
    assert_eq!(call(&router_a, log_out(&first)).await.0, StatusCode::OK);
    let seen = until_status(&router_b, &first, StatusCode::UNAUTHORIZED).await;
    println!("a logout on server A was enforced by server B after {seen:?}");
    assert!(seen < Duration::from_secs(1), "{seen:?}");
    // the other sessions stay cached on B: no whole-cache drop
    assert_eq!(b.runtime.cached_sessions(), 2);
    assert_eq!(call(&router_b, whoami(&second)).await.0, StatusCode::OK);
    assert_eq!(call(&router_b, whoami(&bobs)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn ended_sessions_reach_a_server_while_its_reload_runs() {
    let url = common::postgres_url().await;
    let (a, router_a) = instance(&url).await;
    let (b, router_b) = instance(&url).await;
    register(&router_a, "alice@example.com").await;
    register(&router_a, "bob@example.com").await;
    let alices = log_in(&router_a, "alice@example.com").await;
    let bobs = log_in(&router_a, "bob@example.com").await;
    until_status(&router_b, &alices, StatusCode::OK).await;
    until_status(&router_b, &bobs, StatusCode::OK).await;
    // B is busy with a long reload (held here) while A changes the policy,
    // logs alice out and disables bob
    let held = b.runtime.hold_reloads().await;
    set_anonymous(&a, "add", Effect::Deny).await.expect("deny");
    assert_eq!(call(&router_a, log_out(&alices)).await.0, StatusCode::OK);
    let bob_id = usecases::users::id_for_email(&a, "bob@example.com")
        .await
        .expect("lookup")
        .expect("bob");
    usecases::users::update(
        &a,
        &Actor::System,
        &bob_id,
        policy::wire::UserChanges {
            user_status: Some(policy::wire::UserStatus::Disabled),
            ..Default::default()
        },
    )
    .await
    .expect("disable");
    let logout_seen = until_status(&router_b, &alices, StatusCode::UNAUTHORIZED).await;
    let disable_seen = until_status(&router_b, &bobs, StatusCode::UNAUTHORIZED).await;
    println!("with its reload held, B enforced a logout after {logout_seen:?} and a disable after {disable_seen:?}");
    assert!(logout_seen < Duration::from_secs(1), "{logout_seen:?}");
    assert!(disable_seen < Duration::from_secs(1), "{disable_seen:?}");
    // the policy change waits for the reload, then arrives
    assert!(anonymous_add_allowed(&b));
    drop(held);
    within(|| !anonymous_add_allowed(&b)).await;
}

#[tokio::test]
async fn self_registrations_and_user_changes_reload_no_server() {
    let url = common::postgres_url().await;
    let (a, router_a) = instance(&url).await;
    let (b, router_b) = instance(&url).await;
    usecases::roles::create(&a, &Actor::System, "Buyers")
        .await
        .expect("role");
    within(|| {
        b.app_snapshot()
            .expect("snapshot")
            .policy
            .services
            .contains_key("calculator")
    })
    .await;
    tokio::time::sleep(POLL * 4).await;
    let reloads = (a.runtime.full_reloads(), b.runtime.full_reloads());
    for n in 0..20 {
        register(&router_a, &format!("user{n}@example.com")).await;
    }
    let token = log_in(&router_a, "user7@example.com").await;
    let seen = until_status(&router_b, &token, StatusCode::OK).await;
    println!("B accepted a token of a user registered on A after {seen:?}");
    // a name change and a disable reach B's snapshot as user events
    let id_of = |email: &'static str| {
        let a = a.clone();
        async move {
            usecases::users::id_for_email(&a, email)
                .await
                .expect("lookup")
                .expect("user")
        }
    };
    let (renamed, disabled) = (
        id_of("user3@example.com").await,
        id_of("user4@example.com").await,
    );
    usecases::users::update(
        &a,
        &Actor::System,
        &renamed,
        policy::wire::UserChanges {
            name: Some("Renamed".into()),
            ..Default::default()
        },
    )
    .await
    .expect("rename");
    usecases::users::update(
        &a,
        &Actor::System,
        &disabled,
        policy::wire::UserChanges {
            user_status: Some(policy::wire::UserStatus::Disabled),
            ..Default::default()
        },
    )
    .await
    .expect("disable");
    within(|| {
        let snapshot = b.app_snapshot().expect("snapshot");
        snapshot
            .users
            .get(&renamed)
            .is_some_and(|user| user.name == "Renamed")
            && snapshot.subjects(Some(&disabled)).is_none()
    })
    .await;
    tokio::time::sleep(POLL * 4).await;
    assert_eq!(
        (a.runtime.full_reloads(), b.runtime.full_reloads()),
        reloads,
        "a registration or a user change reloaded a snapshot"
    );
    assert_eq!(b.app_snapshot().expect("snapshot").users.len(), 20);
    // a role assignment brings the role's cells: it reaches B too
    let id = id_of("user7@example.com").await;
    usecases::users::assign_role(&a, &Actor::System, &id, "Buyers")
        .await
        .expect("assign");
    within(|| {
        b.app_snapshot()
            .expect("snapshot")
            .subjects(Some(&id))
            .is_some_and(|subjects| subjects.contains(&Subject::Role("Buyers".into())))
    })
    .await;
}

#[tokio::test]
async fn a_user_registered_again_never_meets_the_old_users_cells() {
    let url = common::postgres_url().await;
    let (a, router_a) = instance(&url).await;
    let (b, _router_b) = instance(&url).await;
    register(&router_a, "alice@example.com").await;
    usecases::permissions::set_cell(
        &a,
        &Actor::System,
        "calculator",
        SubjectKind::Users,
        "alice@example.com",
        "add",
        Effect::Grant,
    )
    .await
    .expect("grant");
    let old = usecases::users::id_for_email(&a, "alice@example.com")
        .await
        .expect("lookup")
        .expect("alice");
    within(|| b.app_snapshot().expect("snapshot").users.contains_key(&old)).await;
    // B cannot reload now; alice is deleted and registers again
    let held = b.runtime.hold_reloads().await;
    usecases::users::delete(&a, &Actor::System, &old)
        .await
        .expect("delete");
    register(&router_a, "alice@example.com").await;
    let new = usecases::users::id_for_email(&a, "alice@example.com")
        .await
        .expect("lookup")
        .expect("alice");
    tokio::time::sleep(POLL * 4).await;
    drop(held);
    // the new alice appears only with a snapshot that no longer holds the
    // old alice's grant
    within(|| b.app_snapshot().expect("snapshot").users.contains_key(&new)).await;
    let snapshot = b.app_snapshot().expect("snapshot");
    let grant_kept = snapshot.policy.services["calculator"]
        .assignments
        .contains_key(&Subject::User("alice@example.com".into()));
    assert!(!grant_kept, "the new alice met the old alice's cells");
}

#[tokio::test]
async fn an_outage_never_keeps_an_ended_token_alive() {
    let url = common::postgres_url().await;
    let (_a, router_a) = instance(&url).await;
    let (b, router_b) = instance(&url).await;
    register(&router_a, "alice@example.com").await;
    let token = log_in(&router_a, "alice@example.com").await;
    until_status(&router_b, &token, StatusCode::OK).await;
    // B loses its database; A logs the token out meanwhile
    b.pool.close().await;
    assert_eq!(call(&router_a, log_out(&token)).await.0, StatusCode::OK);
    // B cannot know: past the feed's staleness bound it trusts no cached
    // session and asks the database, which it cannot reach
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(runtime::sync::FEED_STALE_AFTER_MS).expect("ms") + 200,
    ))
    .await;
    let (status, body) = call(&router_b, whoami(&token)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!(8010)),
        "{body}"
    );
    // anonymous checks go on from the snapshot
    let anonymous = Request::builder()
        .uri("/api/services/calculator/add?a=1&b=2")
        .body(Body::empty())
        .expect("request");
    assert_eq!(call(&router_b, anonymous).await.0, StatusCode::OK);
}

/// Applications are reloaded alone: a change in one, its creation and its
/// deletion reach the other server without touching the snapshot of any
/// other application there.
#[tokio::test]
async fn a_change_in_one_application_reloads_no_other() {
    let url = common::postgres_url().await;
    let (a, _router_a) = instance(&url).await;
    let (b, _router_b) = instance(&url).await;
    let staging = usecases::apps::create(
        &a,
        &Actor::System,
        policy::wire::NewApp {
            name: "Staging".into(),
            ..Default::default()
        },
    )
    .await
    .expect("create");
    within(|| b.runtime.snapshot(&staging.id).is_some()).await;
    let default_before = b.app_snapshot().expect("snapshot");
    let staging_a = a.in_app(&staging.id).expect("staging on A");
    set_anonymous(&staging_a, "add", Effect::Deny)
        .await
        .expect("deny");
    within(|| !anonymous_add_allowed(&b.in_app(&staging.id).expect("staging on B"))).await;
    assert!(
        anonymous_add_allowed(&b),
        "the default application is untouched"
    );
    tokio::time::sleep(POLL * 4).await;
    assert!(
        Arc::ptr_eq(&default_before, &b.app_snapshot().expect("snapshot")),
        "the default application's snapshot was reloaded"
    );
    usecases::apps::delete(&staging_a, &Actor::System, "Staging")
        .await
        .expect("delete");
    within(|| b.runtime.snapshot(&staging.id).is_none()).await;
    tokio::time::sleep(POLL * 4).await;
    assert!(Arc::ptr_eq(
        &default_before,
        &b.app_snapshot().expect("snapshot")
    ));
}

/// A change that needs a reload reaches the other server while a steady
/// stream of events (user changes, each read by its feed) goes on: its
/// policy task waits for the feed a bounded time, never for the stream
/// to stop (the bound itself: runtime's
/// `the_wait_for_the_feed_is_bounded_across_questions`).
#[tokio::test]
async fn a_reload_is_not_starved_by_a_stream_of_events() {
    let url = common::postgres_url().await;
    let (a, router_a) = instance(&url).await;
    let (b, _) = instance(&url).await;
    register(&router_a, "busy@example.com").await;
    let busy = usecases::users::id_for_email(&a, "busy@example.com")
        .await
        .expect("lookup")
        .expect("user");
    let streaming = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stream = tokio::spawn({
        let (a, streaming) = (a.clone(), streaming.clone());
        async move {
            let mut n = 0u64;
            while streaming.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                usecases::users::update(
                    &a,
                    &Actor::System,
                    &busy,
                    policy::wire::UserChanges {
                        name: Some(format!("Busy {n}")),
                        ..Default::default()
                    },
                )
                .await
                .expect("rename");
            }
            n
        }
    });
    tokio::time::sleep(POLL * 4).await;
    for round in 0..3 {
        let role = format!("Streamed{round}");
        usecases::roles::create(&a, &Actor::System, &role)
            .await
            .expect("role");
        usecases::permissions::set_cell(
            &a,
            &Actor::System,
            "calculator",
            SubjectKind::Roles,
            &role,
            "add",
            Effect::Deny,
        )
        .await
        .expect("deny");
        // a rename cannot be patched in: only a reload brings it
        let renamed = format!("Renamed{round}");
        usecases::roles::rename(&a, &Actor::System, &role, &renamed)
            .await
            .expect("rename");
        let seen = within(|| {
            let snapshot = b.app_snapshot().expect("snapshot");
            !decide(
                &snapshot.policy,
                &[Subject::Role(renamed.as_str().into())],
                "calculator",
                "add",
            )
            .is_allowed()
        })
        .await;
        println!("B read role {role} after {seen:?} under the stream");
    }
    streaming.store(false, std::sync::atomic::Ordering::SeqCst);
    let events = stream.await.expect("stream");
    assert!(events > 20, "the stream made {events} events");
}

#[tokio::test]
async fn one_cell_reaches_the_other_server_without_a_reload() {
    let url = common::postgres_url().await;
    let (a, _) = instance(&url).await;
    let (b, _) = instance(&url).await;
    let reloads = b.runtime.full_reloads();
    for round in 0..5 {
        let effect = if round % 2 == 0 {
            Effect::Deny
        } else {
            Effect::Inherit
        };
        set_anonymous(&a, "add", effect).await.expect("set");
        let denied = effect == Effect::Deny;
        within(|| anonymous_add_allowed(&b) != denied).await;
    }
    // a time-limited cell keeps its end on the other server
    let until = policy::time::Until(store::now_millis() + 60_000);
    usecases::permissions::set_cell(
        &a,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "divide",
        policy::cells::Cell {
            effect: Effect::Deny,
            until: Some(until),
        },
    )
    .await
    .expect("time-limited");
    within(|| b.app_snapshot().expect("snapshot").next_expiry == until.0).await;
    let version_a = a.app_snapshot().expect("snapshot").version;
    within(|| b.app_snapshot().expect("snapshot").version == version_a).await;
    tokio::time::sleep(POLL * 4).await;
    assert_eq!(
        b.runtime.full_reloads(),
        reloads,
        "the other server reloaded for a change of one cell"
    );
    // a change of more than one cell is still reloaded, and then correct
    let mut document = usecases::permissions::export(&a).await.expect("export");
    document.services.clear();
    usecases::permissions::replace_all(&a, &Actor::System, &document, false, false)
        .await
        .expect("replace");
    within(|| {
        anonymous_add_allowed(&b) && b.app_snapshot().expect("snapshot").next_expiry == i64::MAX
    })
    .await;
    assert!(b.runtime.full_reloads() > reloads);
}

#[tokio::test]
async fn the_database_signal_wakes_the_other_server_before_its_poll() {
    let url = common::postgres_url().await;
    let slow = Duration::from_secs(30);
    let (a, router_a) = instance_polling(&url, slow).await;
    let (b, router_b) = instance_polling(&url, slow).await;
    register(&router_a, "alice@example.com").await;
    // the user reaches B by the signal too (the first ticks ran at start)
    let token = log_in(&router_a, "alice@example.com").await;
    let seen = within(|| {
        b.app_snapshot()
            .expect("snapshot")
            .users
            .values()
            .any(|user| user.email == "alice@example.com")
    })
    .await;
    println!("a registration on server A reached server B after {seen:?}");
    set_anonymous(&a, "add", Effect::Deny).await.expect("deny");
    let seen = within(|| !anonymous_add_allowed(&b)).await;
    println!("a deny on server A was enforced by server B after {seen:?}, polling every {slow:?}");
    assert!(seen < Duration::from_secs(2), "{seen:?}");
    until_status(&router_b, &token, StatusCode::OK).await;
    assert_eq!(call(&router_a, log_out(&token)).await.0, StatusCode::OK);
    let seen = until_status(&router_b, &token, StatusCode::UNAUTHORIZED).await;
    // within the second B would take to stop trusting its cache unread
    assert!(seen < Duration::from_millis(500), "{seen:?}");
}

/// A user added and logged in on one server calls another at once, before
/// that one has read the change: the session is found in the database and
/// the user read into its snapshot, and the call is judged by that
/// snapshot (not the one from before the read, where the user is unknown).
#[tokio::test]
async fn a_user_added_on_another_server_is_known_at_the_first_call() {
    let url = common::postgres_url().await;
    let (_a, router_a) = instance(&url).await;
    // the other server reads no change feed: only the call can tell it
    let (pool, engine) = store::connect_and_migrate(&url).await.expect("connect");
    let settings = Settings {
        registration: true,
        ..Settings::default()
    };
    let b = Console::open(pool, engine, settings).await.expect("open");
    let router_b = common::router_for(&b);
    register(&router_a, "first-call@example.com").await;
    let token = log_in(&router_a, "first-call@example.com").await;
    let unknown = b.app_snapshot().expect("snapshot");
    assert!(
        unknown
            .users
            .values()
            .all(|user| user.email != "first-call@example.com"),
        "the other server already knows the user"
    );
    let (status, body) = call(&router_b, whoami(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
