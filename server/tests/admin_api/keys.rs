//! Admin API keys: shown once, usable without an `Origin`, made only by a
//! signed-in admin, listed without their secret, revoked and expired at once.

use axum::body::Body;
use http::{header, Request, StatusCode};
use serde_json::{json, Value};
use usecases::admins::create_admin;

use super::harness::*;

crate::on_every_engine!(
    keys_are_shown_once_and_work_without_origin,
    keys_refuse_bad_names_and_bad_callers,
    a_key_cannot_make_a_key,
    keys_are_listed_without_their_secret_and_revoked_at_once,
    an_expired_key_opens_nothing,
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

    // a signed-in admin makes another key (a key cannot: see a_key_cannot_make_a_key)
    let child = new_key(&console.app, console.cookie(), "child").await;
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
    assert_eq!(items[0]["actor"], "admin:ops@example.com");
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
/// A leaked key must not be able to outlive its own revocation: only a
/// signed-in admin makes keys.
async fn a_key_cannot_make_a_key(engine: &str) {
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
    assert_error(&child, StatusCode::FORBIDDEN, 8104);
    let children: i64 =
        sqlx::query_scalar("select count(*) from admin_api_key where name = 'child'")
            .fetch_one(&console.state.pool)
            .await
            .expect("count");
    assert_eq!(children, 0);
}

async fn keys_are_listed_without_their_secret_and_revoked_at_once(engine: &str) {
    let console = Console::start(engine).await;
    let listed = console
        .call(
            "GET",
            "/console/api/keys",
            Auth::Cookie(&console.cookie),
            None,
        )
        .await;
    let keys = assert_ok(&listed);
    assert!(!listed.text.contains(&console.key), "the secret was listed");
    let key = &keys[0];
    assert_eq!(key["name"], json!(KEY_NAME));
    assert_eq!(key["owner"], json!(ADMIN));
    assert!(key["createdAt"].is_i64());
    assert!(key["expiresAt"].is_null());
    let id = key["id"].as_str().expect("an id").to_string();
    assert_eq!(id.len(), 16);
    // the key works, and its use is recorded
    assert_ok(
        &console
            .call("GET", "/console/api/roles", Auth::Key(&console.key), None)
            .await,
    );
    let keys = assert_ok(
        &console
            .call(
                "GET",
                "/console/api/keys",
                Auth::Cookie(&console.cookie),
                None,
            )
            .await,
    );
    assert!(keys[0]["lastUsedAt"].is_i64(), "{keys}");
    // revoked: the very next call is refused
    let revoked = console
        .call(
            "DELETE",
            &format!("/console/api/keys/{id}"),
            Auth::Cookie(&console.cookie),
            None,
        )
        .await;
    assert_eq!(assert_ok(&revoked), json!({"revoked": id}));
    let refused = console
        .call("GET", "/console/api/roles", Auth::Key(&console.key), None)
        .await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, 8100);
    let again = console
        .call(
            "DELETE",
            &format!("/console/api/keys/{id}"),
            Auth::Cookie(&console.cookie),
            None,
        )
        .await;
    assert_error(&again, StatusCode::NOT_FOUND, 8102);
    let audit = assert_ok(
        &console
            .call(
                "GET",
                "/console/api/audit?target=key:ci",
                Auth::Cookie(&console.cookie),
                None,
            )
            .await,
    );
    assert_eq!(audit["items"][0]["action"], json!("apikey.revoke"));
}

async fn an_expired_key_opens_nothing(engine: &str) {
    let console = Console::start(engine).await;
    let bad = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Cookie(&console.cookie),
            Some(json!({"name": "never", "expiresInDays": 0})),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, 8105);
    let made = assert_ok(
        &console
            .call(
                "POST",
                "/console/api/keys",
                Auth::Cookie(&console.cookie),
                Some(json!({"name": "deploy", "expiresInDays": 1})),
            )
            .await,
    );
    let key = made["key"].as_str().expect("the key").to_string();
    let listed = assert_ok(
        &console
            .call(
                "GET",
                "/console/api/keys",
                Auth::Cookie(&console.cookie),
                None,
            )
            .await,
    );
    let deploy = listed
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["name"] == json!("deploy")))
        .expect("listed");
    let day = 86_400_000;
    let left = deploy["expiresAt"].as_i64().expect("an expiry")
        - deploy["createdAt"].as_i64().expect("created");
    assert_eq!(left, day);
    assert_ok(
        &console
            .call("GET", "/console/api/roles", Auth::Key(&key), None)
            .await,
    );
    // a day later (the clock moved by hand)
    sqlx::query("update admin_api_key set expires_at = $1 where name = 'deploy'")
        .bind(store::now_millis() - 1)
        .execute(&console.state.pool)
        .await
        .expect("expire");
    let refused = console
        .call("GET", "/console/api/roles", Auth::Key(&key), None)
        .await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, 8100);
}
