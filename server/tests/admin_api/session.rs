//! Console sign-in and sign-out: the session cookie, its flags, its origin
//! checks and its inactivity timeout.

use std::time::Duration;

use axum::body::Body;
use http::{header, StatusCode};
use serde_json::json;

use super::harness::*;

crate::on_every_engine!(
    session_sign_in_sets_a_strict_http_only_cookie,
    session_sign_in_refuses_bad_credentials_and_other_origins,
    session_sign_out_ends_only_that_session,
    session_ends_after_inactivity,
);

async fn session_sign_in_sets_a_strict_http_only_cookie(engine: &str) {
    let console = Console::start(engine).await;
    let reply = sign_in(&console.app, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(assert_ok(&reply), json!({ "email": ADMIN }));
    let set_cookie = reply.set_cookie().expect("Set-Cookie");
    assert!(set_cookie.starts_with("console_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    // 128+ random bits: 43 characters of base64url
    let token = cookie_pair(&set_cookie)
        .trim_start_matches("console_session=")
        .to_string();
    assert!(token.len() >= 22, "{token}");
    assert_ne!(cookie_pair(&set_cookie), console.cookie, "a new session");

    // the cookie is a session: it opens the admin API
    let cookie = cookie_pair(&set_cookie);
    console
        .ok("GET", "/console/api/roles", Auth::Cookie(&cookie), None)
        .await;
    // a non-browser client sends no Origin; the cookie still works
    let no_origin = send(
        &console.app,
        request("GET", "/console/api/roles")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&no_origin);

    // emails are matched whatever their case
    let reply = sign_in(&console.app, "  OPS@Example.COM ", ADMIN_PASSWORD).await;
    assert_eq!(assert_ok(&reply), json!({ "email": ADMIN }));

    // behind TLS the cookie is Secure
    let tls = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session")
                .header(header::ORIGIN, "https://127.0.0.1:3000")
                .header("x-forwarded-proto", "https"),
            Some(&json!({"email": ADMIN, "password": ADMIN_PASSWORD})),
        ),
    )
    .await;
    assert_ok(&tls);
    let secure = tls.set_cookie().expect("Set-Cookie");
    assert!(secure.contains("; Secure"), "{secure}");
    assert!(secure.contains("HttpOnly") && secure.contains("SameSite=Strict"));
}

async fn session_sign_in_refuses_bad_credentials_and_other_origins(engine: &str) {
    let console = Console::start(engine).await;
    let wrong = sign_in(&console.app, ADMIN, "wrong-password").await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, 8106);
    assert!(wrong.set_cookie().is_none());
    // an unknown admin gets the very same answer
    let unknown = sign_in(&console.app, "nobody@example.com", ADMIN_PASSWORD).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, 8106);
    assert_eq!(unknown.json, wrong.json);
    assert!(unknown.set_cookie().is_none());

    let body = json!({"email": ADMIN, "password": ADMIN_PASSWORD});
    let cross = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header(header::ORIGIN, EVIL_ORIGIN),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    assert!(cross.set_cookie().is_none());
    let cross_site = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header("sec-fetch-site", "cross-site"),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross_site, StatusCode::FORBIDDEN, 8101);
    let other_port = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header(header::ORIGIN, "http://127.0.0.1:3001"),
            Some(&body),
        ),
    )
    .await;
    assert_error(&other_port, StatusCode::FORBIDDEN, 8101);

    // bodies
    let path = "/console/api/session";
    assert_error(
        &console
            .raw("POST", path, "application/json", "{\"email\":")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", path, "text/plain", &body.to_string())
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("POST", path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/json",
                r#"{"email":"ops@example.com"}"#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/json",
                r#"{"email":"ops@example.com","password":"password-1","remember":true}"#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
}

async fn session_sign_out_ends_only_that_session(engine: &str) {
    let console = Console::start(engine).await;
    let other = session_cookie(&console.app, ADMIN, ADMIN_PASSWORD).await;

    // a cross-origin sign-out is refused and ends nothing
    let cross = send(
        &console.app,
        request("DELETE", "/console/api/session")
            .header(header::COOKIE, &console.cookie)
            .header(header::ORIGIN, EVIL_ORIGIN)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    console
        .ok("GET", "/console/api/users", console.cookie(), None)
        .await;

    let out = console
        .call("DELETE", "/console/api/session", console.cookie(), None)
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let cleared = out.set_cookie().expect("a clearing cookie");
    assert!(cleared.starts_with("console_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("HttpOnly"), "{cleared}");

    for (method, path) in [
        ("GET", "/console/api/users"),
        ("GET", "/console/api/roles"),
        ("GET", "/console/api/permissions"),
    ] {
        let after = console.call(method, path, console.cookie(), None).await;
        assert_error(&after, StatusCode::UNAUTHORIZED, 8100);
    }
    let key = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "late"})),
        )
        .await;
    assert_error(&key, StatusCode::UNAUTHORIZED, 8100);

    // the other session and the API key live on
    console
        .ok("GET", "/console/api/users", Auth::Cookie(&other), None)
        .await;
    console
        .ok("GET", "/console/api/users", console.key(), None)
        .await;

    // signing out without a session is harmless
    let again = console
        .call("DELETE", "/console/api/session", Auth::Nobody, None)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}

async fn session_ends_after_inactivity(engine: &str) {
    let console = Console::start_with(engine, Duration::from_millis(1500)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    // activity renews the session: 1.6 s after sign-in, 0.8 s after the last call
    tokio::time::sleep(Duration::from_millis(800)).await;
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let late = console
        .call("GET", "/console/api/roles", console.cookie(), None)
        .await;
    assert_error(&late, StatusCode::UNAUTHORIZED, 8100);
    // and it stays over
    let again = console
        .call("GET", "/console/api/roles", console.cookie(), None)
        .await;
    assert_error(&again, StatusCode::UNAUTHORIZED, 8100);
    // API keys do not expire with sessions
    console
        .ok("GET", "/console/api/roles", console.key(), None)
        .await;
}
