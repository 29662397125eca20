//! Admin API keys: shown once, usable without an `Origin`, owned by the
//! admin who made them.

use axum::body::Body;
use http::{header, Request, StatusCode};
use serde_json::{json, Value};
use usecases::admins::create_admin;

use super::harness::*;

crate::on_every_engine!(
    keys_are_shown_once_and_work_without_origin,
    keys_refuse_bad_names_and_bad_callers,
    key_made_with_a_key_belongs_to_that_keys_admin,
);

async fn keys_are_shown_once_and_work_without_origin(engine: &str) {
    let console = Console::start(engine).await;
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "  deploy  "})),
        )
        .await;
    let body = assert_ok(&reply);
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "{body}");
    assert_eq!(body["name"], "deploy");
    let key = body["key"].as_str().expect("key").to_string();
    assert!(key.len() >= 22, "{key}");
    assert_ne!(key, console.key);

    // a script sends no Origin and no cookie
    let no_origin = send(
        &console.app,
        Request::builder()
            .method("GET")
            .uri("/console/api/services")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&no_origin);
    // a key is no ambient credential: a page elsewhere cannot hold it, so Origin does not matter
    let with_origin = send(
        &console.app,
        authed("GET", "/console/api/services", Auth::Key(&key))
            .header(header::ORIGIN, EVIL_ORIGIN)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&with_origin);

    // a key makes keys, in its own name
    let child = new_key(&console.app, Auth::Key(&key), "child").await;
    console
        .ok("GET", "/console/api/roles", Auth::Key(&child), None)
        .await;

    // shown once: the audit log names keys, never their value
    let audit = console.audit("").await;
    assert!(!audit.to_string().contains(&key), "the key leaked");
    assert!(!audit.to_string().contains(&child), "the key leaked");
    assert!(!audit.to_string().contains(&console.key), "the key leaked");
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[0]["action"], "apikey.create");
    assert_eq!(items[0]["actor"], "key:deploy");
    assert_eq!(items[0]["target"], "key:child");
    assert_eq!(items[0]["before"], Value::Null);
    assert_eq!(items[0]["after"], json!({"name": "child", "owner": ADMIN}));
    assert_eq!(items[1]["action"], "apikey.create");
    assert_eq!(items[1]["actor"], ADMIN_ACTOR);
    assert_eq!(items[1]["target"], "key:deploy");
    assert_eq!(items[1]["after"], json!({"name": "deploy", "owner": ADMIN}));
}

async fn keys_refuse_bad_names_and_bad_callers(engine: &str) {
    let console = Console::start(engine).await;
    let long = "k".repeat(101);
    for name in ["", "   ", long.as_str()] {
        let reply = console
            .call(
                "POST",
                "/console/api/keys",
                console.cookie(),
                Some(json!({ "name": name })),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "x", "scope": "all"})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    assert_error(
        &console
            .raw("POST", "/console/api/keys", "application/json", "{name")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", "/console/api/keys", "text/plain", r#"{"name":"x"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    // 100 characters is fine
    new_key(&console.app, console.cookie(), &"k".repeat(100)).await;

    let body = json!({"name": "sneaky"});
    let nobody = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Nobody,
            Some(body.clone()),
        )
        .await;
    assert_error(&nobody, StatusCode::UNAUTHORIZED, 8100);
    let bogus = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Key("not-a-key"),
            Some(body.clone()),
        )
        .await;
    assert_error(&bogus, StatusCode::UNAUTHORIZED, 8100);
    let cross = send(
        &console.app,
        with_json(
            request("POST", "/console/api/keys")
                .header(header::COOKIE, &console.cookie)
                .header(header::ORIGIN, EVIL_ORIGIN),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    // only the set-up key and the 100-character one were made
    let made = console.audit("?target=key:").await;
    assert_eq!(made["total"], 2, "{made}");
}

/// Two admins each own a key named `ci`. A key made with the second admin's
/// key must belong to the second admin.
async fn key_made_with_a_key_belongs_to_that_keys_admin(engine: &str) {
    let console = Console::start(engine).await;
    create_admin(&console.state, "second@example.com", "password-2")
        .await
        .expect("second admin");
    let second_cookie = session_cookie(&console.app, "second@example.com", "password-2").await;
    let second_key = new_key(&console.app, Auth::Cookie(&second_cookie), KEY_NAME).await;
    let child = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Key(&second_key),
            Some(json!({"name": "child"})),
        )
        .await;
    assert_ok(&child);
    let owner: String = sqlx::query_scalar(
        "select a.email from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id where k.name = 'child'",
    )
    .fetch_one(&console.state.pool)
    .await
    .expect("the child key");
    assert_eq!(
        owner, "second@example.com",
        "the key made with second@example.com's key `ci` was given to {owner}"
    );
    let audit = console.audit("?target=key:child").await;
    assert_eq!(
        audit["items"][0]["after"],
        json!({"name": "child", "owner": "second@example.com"})
    );
}
