//! Security round 2, the promises about application logins, stored rows and
//! permission documents, through the real router on SQLite and PostgreSQL:
//! parallel guesses are judged at most up to the limit, an expired lock
//! starts a fresh count, unknown emails answer exactly like known ones,
//! over-long passwords are refused before any hashing, expired rows are
//! purged, and a document naming anything twice is refused.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode};
use policy::wire::NewUser;
use serde_json::{json, Value};
use server::Gateway;
use usecases::{Actor, Console, Settings};

on_every_engine!(
    parallel_guesses_are_judged_at_most_up_to_the_limit,
    an_expired_lock_starts_a_fresh_count,
    unknown_emails_answer_like_known_ones,
    over_long_passwords_are_refused_before_hashing,
    expired_rows_are_purged,
    a_document_naming_anything_twice_is_refused,
    console_sign_in_slows_guessing_without_locking_out,
    names_that_are_no_email_are_refused_without_a_trace,
    a_right_password_forgives_only_what_came_before_it,
    parallel_console_guesses_are_throttled_too,
    a_login_racing_a_password_change_leaves_no_session,
);

const PASSWORD: &str = "password-1";

async fn console(engine: &str, max_failed_logins: i64, lockout: Duration) -> (Console, Gateway) {
    let state = common::state_with(
        engine,
        Settings {
            max_failed_logins,
            lockout,
            ..Settings::default()
        },
    )
    .await;
    usecases::users::create(
        &state,
        &Actor::System,
        NewUser {
            email: "alice@example.com".to_string(),
            name: "Alice".to_string(),
            password: PASSWORD.to_string(),
        },
    )
    .await
    .expect("user");
    let router = common::router_for(&state);
    (state, router)
}

async fn login(router: &Gateway, email: &str, password: &str) -> (StatusCode, Value) {
    let reply = common::send(
        router,
        Request::post("/api/users/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"login": email, "password": password}).to_string(),
            ))
            .expect("request"),
    )
    .await;
    (reply.status, reply.json)
}

fn code(answer: &(StatusCode, Value)) -> u64 {
    answer.1["code"].as_u64().unwrap_or(0)
}

async fn parallel_guesses_are_judged_at_most_up_to_the_limit(engine: &str) {
    let (_state, router) = console(engine, 3, Duration::from_secs(600)).await;
    // twenty wrong guesses at once: exactly the limit are judged
    let mut guesses = Vec::new();
    for _ in 0..20 {
        let router = router.clone();
        guesses.push(tokio::spawn(async move {
            login(&router, "alice@example.com", "wrong-password").await
        }));
    }
    let mut codes = Vec::new();
    for guess in guesses {
        codes.push(code(&guess.await.expect("task")));
    }
    codes.sort_unstable();
    let mut expected = vec![3003; 3];
    expected.extend([3036; 17]);
    assert_eq!(codes, expected);
    // and a right password while locked is refused like a wrong one
    let right = login(&router, "alice@example.com", PASSWORD).await;
    assert_eq!(code(&right), 3036, "{}", right.1);
}

async fn an_expired_lock_starts_a_fresh_count(engine: &str) {
    let (_state, router) = console(engine, 3, Duration::from_millis(800)).await;
    for _ in 0..3 {
        assert_eq!(
            code(&login(&router, "alice@example.com", "wrong").await),
            3003
        );
    }
    assert_eq!(
        code(&login(&router, "alice@example.com", PASSWORD).await),
        3036
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    // one wrong password after the lock ran out is one failure, not the fourth
    assert_eq!(
        code(&login(&router, "alice@example.com", "wrong").await),
        3003
    );
    let right = login(&router, "alice@example.com", PASSWORD).await;
    assert_eq!(right.0, StatusCode::OK, "{}", right.1);
}

async fn unknown_emails_answer_like_known_ones(engine: &str) {
    let (_state, router) = console(engine, 3, Duration::from_secs(600)).await;
    for email in ["alice@example.com", "nobody@example.com"] {
        let mut codes = Vec::new();
        for _ in 0..5 {
            codes.push(code(&login(&router, email, "wrong-password").await));
        }
        assert_eq!(codes, [3003, 3003, 3003, 3036, 3036], "{email}");
        let message = login(&router, email, "wrong-password").await.1["message"].clone();
        assert_eq!(
            message,
            json!("the account is locked after too many failed logins; try again later")
        );
    }
}

async fn over_long_passwords_are_refused_before_hashing(engine: &str) {
    let (state, router) = console(engine, 3, Duration::from_secs(600)).await;
    let huge = "x".repeat(100_000);
    for _ in 0..5 {
        let answer = login(&router, "alice@example.com", &huge).await;
        assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
        assert_eq!(code(&answer), 8003);
        assert!(answer.1["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 256 characters"));
    }
    // refused before anything: not even counted as failures
    assert_eq!(
        login(&router, "alice@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
    // console sign-in too
    let refused = usecases::admins::sign_in(&state, "ops@example.com", huge).await;
    assert!(
        matches!(refused, Err(usecases::Error::BadInput(_))),
        "{refused:?}"
    );
}

async fn count(state: &Console, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&state.pool)
        .await
        .expect("count")
}

async fn expired_rows_are_purged(engine: &str) {
    let (state, router) = console(engine, 3, Duration::from_millis(500)).await;
    usecases::admins::create_admin(&state, "ops@example.com", PASSWORD)
        .await
        .expect("admin");
    let (_, console_token) = usecases::admins::sign_in(&state, "ops@example.com", PASSWORD.into())
        .await
        .expect("sign in");
    assert_eq!(
        login(&router, "alice@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
    assert_eq!(
        code(&login(&router, "nobody@example.com", "wrong").await),
        3003
    );
    assert_eq!(count(&state, "user_session").await, 1);
    assert_eq!(count(&state, "console_session").await, 1);
    assert_eq!(count(&state, "login_attempt").await, 1);
    // nothing is due yet
    let purged = usecases::maintenance::purge_expired(&state)
        .await
        .expect("purge");
    assert_eq!(purged, usecases::maintenance::Purged::default());
    let events = count(&state, "runtime_event").await;
    assert!(events > 0, "the user's creation is in the event feed");
    // age every row past the session timeout (an hour), the lockout and
    // the event feed's keep
    let past = store::now_millis() - 2 * 3_600_000;
    for sql in [
        "update user_session set last_seen_at = $1",
        "update console_session set last_seen_at = $1",
        "update login_attempt set updated_at = $1",
        "update runtime_event set created_at = $1",
    ] {
        sqlx::query(sql)
            .bind(past)
            .execute(&state.pool)
            .await
            .expect("age");
    }
    let purged = usecases::maintenance::purge_expired(&state)
        .await
        .expect("purge");
    assert_eq!(
        purged,
        usecases::maintenance::Purged {
            user_sessions: 1,
            console_sessions: 1,
            login_attempts: 1,
            runtime_events: u64::try_from(events).expect("count"),
        }
    );
    assert_eq!(count(&state, "runtime_event").await, 0);
    assert_eq!(count(&state, "user_session").await, 0);
    assert_eq!(count(&state, "console_session").await, 0);
    assert_eq!(count(&state, "login_attempt").await, 0);
    assert!(usecases::admins::admin_for_token(
        &state,
        console_token.reveal(),
        Duration::from_secs(3600)
    )
    .await
    .expect("lookup")
    .is_none());
}

async fn a_document_naming_anything_twice_is_refused(engine: &str) {
    let (state, router) = console(engine, 5, Duration::from_secs(600)).await;
    usecases::admins::create_admin(&state, "ops@example.com", PASSWORD)
        .await
        .expect("admin");
    let key = usecases::admins::create_api_key(&state, &Actor::System, "ops@example.com", "ci")
        .await
        .expect("key");
    let before = usecases::permissions::export(&state).await.expect("export");
    for document in [
        r#"{"services":{"orders":{"roles":{"AuthenticatedUser":{"*":"grant"}}},"orders":{"roles":{"AuthenticatedUser":{"*":"deny"}}}}}"#,
        r#"{"services":{"orders":{"roles":{"AuthenticatedUser":{"*":"deny"},"AuthenticatedUser":{"*":"grant"}}}}}"#,
        r#"{"services":{"orders":{"users":{"alice@example.com":{"addOrder":"deny","addOrder":"grant"}}}}}"#,
    ] {
        let reply = common::send(
            &router,
            Request::put("/console/api/permissions")
                .header(header::HOST, "127.0.0.1:3000")
                .header(header::AUTHORIZATION, format!("Bearer {}", key.reveal()))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(document))
                .expect("request"),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{document}: {}",
            reply.text
        );
        assert_eq!(reply.json["code"], json!(8105));
        assert!(reply.text.contains("named twice"), "{}", reply.text);
    }
    assert_eq!(
        usecases::permissions::export(&state).await.expect("export"),
        before
    );
}

async fn admin_sign_in(router: &Gateway, email: &str, password: &str) -> common::Reply {
    common::send(
        router,
        Request::post("/console/api/session")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"email": email, "password": password}).to_string(),
            ))
            .expect("request"),
    )
    .await
}

/// After five wrong passwords an admin account waits before its next
/// attempt (429, `Retry-After`), the right password included, and the wait
/// grows; it never becomes a lockout: once the wait is over the right
/// password signs in. Other accounts are not slowed.
async fn console_sign_in_slows_guessing_without_locking_out(engine: &str) {
    let (state, router) = console(engine, 5, Duration::from_secs(600)).await;
    for email in ["ops@example.com", "other@example.com"] {
        usecases::admins::create_admin(&state, email, PASSWORD)
            .await
            .expect("admin");
    }
    for _ in 0..usecases::throttle::FREE_ACCOUNT_FAILURES {
        let reply = admin_sign_in(&router, "ops@example.com", "wrong-password").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    }
    let waiting = admin_sign_in(&router, "ops@example.com", PASSWORD).await;
    assert_eq!(
        waiting.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        waiting.text
    );
    assert_eq!(waiting.json["code"], json!(8107));
    let retry: u64 = waiting
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    // the other admin signs in meanwhile
    assert_eq!(
        admin_sign_in(&router, "other@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(retry * 1000 + 100)).await;
    let after = admin_sign_in(&router, "ops@example.com", PASSWORD).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    // a success clears the count: the next wrong password is just a 401
    let wrong = admin_sign_in(&router, "ops@example.com", "wrong-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

/// A login that is no email (too long, say) is answered like a wrong
/// password, and nothing is stored: a flood of junk names cannot fill a
/// table, and PostgreSQL never sees a key too long for its index.
async fn names_that_are_no_email_are_refused_without_a_trace(engine: &str) {
    let (state, router) = console(engine, 5, Duration::from_secs(600)).await;
    let long = format!("{}@example.com", "a1b2c3d4".repeat(1000));
    for name in [long.as_str(), "no-at-sign", "two@@at.signs"] {
        let answer = login(&router, name, "wrong-password").await;
        assert_eq!(code(&answer), 3003, "{name:.20}: {}", answer.1);
    }
    assert_eq!(count(&state, "login_attempt").await, 0);
}

/// A service account logs in while someone guesses its password: its
/// success forgives its own count, not the guesses that came after it.
async fn a_right_password_forgives_only_what_came_before_it(engine: &str) {
    let (state, _router) = console(engine, 5, Duration::from_secs(600)).await;
    let email = "alice@example.com";
    let now = store::now_millis();
    let lock_until = now + 600_000;
    let mut conn = state.pool.acquire().await.expect("connection");
    async fn admit(
        conn: &mut sqlx::AnyConnection,
        app: &str,
        email: &str,
        now: i64,
        lock_until: i64,
    ) -> store::attempts::Admission {
        store::attempts::admit(conn, app, email, now, 5, lock_until)
            .await
            .expect("admit")
    }
    // the service account's attempt is admitted first...
    let own = admit(&mut conn, &state.app, email, now, lock_until).await;
    let store::attempts::Admission::Judge { counted } = own else {
        panic!("not admitted: {own:?}");
    };
    assert_eq!(counted, 1);
    // ...then five guesses arrive, and the fifth failure locks
    for _ in 0..4 {
        assert!(matches!(
            admit(&mut conn, &state.app, email, now, lock_until).await,
            store::attempts::Admission::Judge { .. }
        ));
    }
    // the service account's password was right
    store::attempts::forgive_up_to(&mut conn, &state.app, email, counted, 5)
        .await
        .expect("forgive");
    // four guesses remain counted: one more and the email locks
    assert!(matches!(
        admit(&mut conn, &state.app, email, now, lock_until).await,
        store::attempts::Admission::Judge { counted: 5 }
    ));
    assert_eq!(
        admit(&mut conn, &state.app, email, now, lock_until).await,
        store::attempts::Admission::Locked
    );
}

/// Twenty wrong console sign-ins sent at once: at most the five free ones
/// are judged, the rest wait (429).
async fn parallel_console_guesses_are_throttled_too(engine: &str) {
    let (state, router) = console(engine, 5, Duration::from_secs(600)).await;
    usecases::admins::create_admin(&state, "ops@example.com", PASSWORD)
        .await
        .expect("admin");
    let mut guesses = Vec::new();
    for _ in 0..20 {
        let router = router.clone();
        guesses.push(tokio::spawn(async move {
            admin_sign_in(&router, "ops@example.com", "wrong-password")
                .await
                .status
        }));
    }
    let mut judged = 0;
    for guess in guesses {
        match guess.await.expect("task") {
            StatusCode::UNAUTHORIZED => judged += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(judged, usecases::throttle::FREE_ACCOUNT_FAILURES);
}

async fn session_count(state: &Console) -> i64 {
    count(state, "user_session").await
}

/// A login checks the password on the hashing threads, then opens the
/// session. A password change committing in between, in either order
/// against the session's insert, leaves no session alive: the insert reads
/// the hash it checked under a row lock, and the change's session delete
/// comes after its update of that row.
async fn a_login_racing_a_password_change_leaves_no_session(engine: &str) {
    let (state, _) = console(engine, 5, Duration::from_secs(600)).await;
    let record = store::users::login_record(&state.pool, &state.app, "alice@example.com")
        .await
        .expect("read")
        .expect("alice");
    let user_id = record.app_user_id.clone();

    // the change goes first and commits while the login waits
    let mut change = state.pool.begin().await.expect("begin");
    store::users::set_password_hash(&mut change, &user_id, "changed-1", store::now_millis())
        .await
        .expect("update");
    let login = {
        let pool = state.pool.clone();
        let (user_id, hash) = (user_id.clone(), record.password_hash.clone());
        tokio::spawn(async move {
            let mut tx = pool.begin().await.expect("begin");
            let opened = store::sessions::insert_if_current(
                &mut tx,
                "token-hash-1",
                &user_id,
                &hash,
                store::now_millis(),
            )
            .await
            .expect("insert");
            tx.commit().await.expect("commit");
            opened
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    store::sessions::delete_for_user(&mut change, &user_id)
        .await
        .expect("delete");
    change.commit().await.expect("commit");
    assert!(
        !login.await.expect("task"),
        "a session opened with the old password"
    );
    assert_eq!(session_count(&state).await, 0);

    // the login goes first and commits while the change waits
    let mut login = state.pool.begin().await.expect("begin");
    let opened = store::sessions::insert_if_current(
        &mut login,
        "token-hash-2",
        &user_id,
        "changed-1",
        store::now_millis(),
    )
    .await
    .expect("insert");
    assert!(opened);
    let change = {
        let pool = state.pool.clone();
        let user_id = user_id.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.expect("begin");
            store::users::set_password_hash(&mut tx, &user_id, "changed-2", store::now_millis())
                .await
                .expect("update");
            store::sessions::delete_for_user(&mut tx, &user_id)
                .await
                .expect("delete");
            tx.commit().await.expect("commit");
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    login.commit().await.expect("commit");
    change.await.expect("task");
    assert_eq!(
        session_count(&state).await,
        0,
        "a session opened before a password change survived it"
    );
}
