//! Invoking as a user: an admin's short-lived session of the user answers
//! exactly as the user's own login on every method, every call with it is
//! audited, and it ends at its end, with the console session that got it,
//! and when the server turns the feature off.

use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;
use crate::common;

crate::on_every_engine!(
    impersonation_answers_as_the_user_and_is_audited,
    impersonation_ends_at_its_end_and_with_the_console_session
);

/// alice (Sales), denied `deleteOrder` through Sales and `divide` herself.
async fn alice(console: &Console) -> String {
    let id = console
        .user_in_new_role("alice@example.com", "Alice", "password-a", "Sales")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "deleteOrder", "deny")
        .await;
    console
        .set_cell("calculator", "users", "alice@example.com", "divide", "deny")
        .await;
    id
}

async fn impersonate(console: &Console, auth: Auth<'_>, id: &str) -> Value {
    console
        .ok(
            "POST",
            "/console/api/impersonate",
            auth,
            Some(json!({ "objectId": id })),
        )
        .await
}

/// A call by name with `{}` as the arguments.
async fn call(console: &Console, service: &str, method: &str, token: &str) -> Reply {
    send(
        &console.app,
        with_json(
            request("POST", &format!("/api/services/{service}/{method}"))
                .header("user-token", token),
            Some(&json!({})),
        ),
    )
    .await
}

async fn impersonation_answers_as_the_user_and_is_audited(engine: &str) {
    let console = Console::start(engine).await;
    let id = alice(&console).await;
    let issued = impersonate(&console, console.cookie(), &id).await;
    let token = issued["user-token"].as_str().expect("token").to_string();
    assert_eq!(issued["user"]["email"], "alice@example.com");
    let expires = issued["expiresAt"].as_str().expect("expiresAt");
    assert!(expires.ends_with('Z') && expires.len() == 24, "{expires}");
    let own = console.user_token("alice@example.com", "password-a").await;
    assert_ne!(token, own);

    // every method of every service: the same answer as her own login's
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let mut calls = 0;
    let mut denied = 0;
    for service in services.as_array().expect("services") {
        let name = service["name"].as_str().expect("name");
        for method in service["methods"].as_array().expect("methods") {
            let method = method["name"].as_str().expect("method");
            let as_admin = call(&console, name, method, &token).await;
            let as_alice = call(&console, name, method, &own).await;
            calls += 1;
            assert_eq!(
                as_admin.status, as_alice.status,
                "{name}.{method}: {}",
                as_admin.text
            );
            if as_admin.status != StatusCode::OK {
                assert_eq!(as_admin.json, as_alice.json, "{name}.{method}");
            }
            denied += usize::from(as_admin.status == StatusCode::FORBIDDEN);
        }
    }
    assert!(denied >= 2, "deleteOrder and divide are denied to her");
    // the token is hers: whoami names her
    let whoami = console
        .runtime("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_eq!(
        assert_ok(&whoami)["email"],
        "alice@example.com",
        "{}",
        whoami.text
    );
    calls += 1;

    // audited: who got it, and every call made with it, as made by the admin
    let audit = console.audit("?limit=500").await;
    let items = audit["items"].as_array().expect("items");
    let started: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "impersonation.start")
        .collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["actor"], ADMIN_ACTOR);
    assert_eq!(started[0]["target"], "user:alice@example.com");
    let made: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "impersonation.call")
        .collect();
    assert_eq!(made.len(), calls, "one event per call");
    assert!(made
        .iter()
        .all(|e| e["actor"] == ADMIN_ACTOR && e["target"] == "user:alice@example.com"));
    assert!(made.iter().any(|e| e["service"] == "orders"
        && e["after"]["call"] == "deleteOrder"
        && e["after"]["verb"] == "POST"
        && e["after"]["path"] == "/api/services/orders/deleteOrder"));
    // her own session's calls are not impersonated
    let before = made.len();
    call(&console, "echo", "whoami", &own).await;
    let audit = console.audit("?limit=500").await;
    assert_eq!(
        audit_actions(&audit)
            .iter()
            .filter(|a| *a == "impersonation.call")
            .count(),
        before
    );

    // what is refused
    let disabled = console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let bob = disabled["objectId"].as_str().expect("id").to_string();
    console
        .ok(
            "PATCH",
            &format!("/console/api/users/{bob}"),
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    for (body, status, code) in [
        (json!({"objectId": bob}), StatusCode::BAD_REQUEST, 8105),
        (json!({"objectId": "nobody"}), StatusCode::NOT_FOUND, 8102),
        (
            json!({"email": "alice@example.com"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
    ] {
        let reply = console
            .call(
                "POST",
                "/console/api/impersonate",
                console.key(),
                Some(body),
            )
            .await;
        assert_error(&reply, status, code);
    }
    let nobody = console
        .call(
            "POST",
            "/console/api/impersonate",
            Auth::Nobody,
            Some(json!({"objectId": id})),
        )
        .await;
    assert_error(&nobody, StatusCode::UNAUTHORIZED, 8100);

    // turned off by configuration: refused, nothing issued
    let mut off = console.state.clone();
    off.settings.impersonation = None;
    let router = common::router_for(&off);
    let reply = send(
        &router,
        with_json(
            authed("POST", "/console/api/impersonate", console.key()),
            Some(&json!({"objectId": id})),
        ),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, 8104);
    assert!(
        reply.text.contains("IMPERSONATION_MINUTES=0"),
        "{}",
        reply.text
    );
}

async fn impersonation_ends_at_its_end_and_with_the_console_session(engine: &str) {
    let console = Console::start(engine).await;
    let id = alice(&console).await;
    let app = console.state.app.to_string();
    let timeout = Duration::from_secs(3600);

    // at its end, used or not, from the cache and from the database
    let issued = impersonate(&console, console.key(), &id).await;
    let token = issued["user-token"].as_str().expect("token").to_string();
    let lasts = console.state.settings.impersonation.expect("on");
    let now = store::now_millis();
    let end = now + i64::try_from(lasts.as_millis()).expect("ms");
    let runtime = &console.state.runtime;
    assert!(runtime
        .authenticate_at(&app, &token, timeout, now + 1)
        .await
        .expect("auth")
        .is_some());
    assert!(
        runtime
            .authenticate_at(&app, &token, timeout, end - 1_000)
            .await
            .expect("auth")
            .is_some(),
        "live, with activity, before its end"
    );
    assert!(
        runtime
            .authenticate_at(&app, &token, timeout, end + 1_000)
            .await
            .expect("auth")
            .is_none(),
        "over at its end although just used"
    );
    let reply = console
        .runtime("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, 3064);

    // with the key that got it, once revoked
    let second = new_key(&console.app, console.cookie(), "second").await;
    let by_second = impersonate(&console, Auth::Key(&second), &id).await;
    let by_second = by_second["user-token"].as_str().expect("token").to_string();
    let reply = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_second))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let keys = console
        .ok("GET", "/console/api/keys", console.cookie(), None)
        .await;
    let second_id = keys
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["name"] == "second"))
        .and_then(|k| k["id"].as_str())
        .expect("the second key")
        .to_string();
    console
        .ok(
            "DELETE",
            &format!("/console/api/keys/{second_id}"),
            console.cookie(),
            None,
        )
        .await;
    let revoked = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_second))
        .await;
    assert_error(&revoked, StatusCode::UNAUTHORIZED, 3064);

    // keys are told apart by themselves, not by their names: of two keys
    // named alike, the revoked one's session ends, the other's stays
    let twins = [
        new_key(&console.app, console.cookie(), "twin").await,
        new_key(&console.app, console.cookie(), "twin").await,
    ];
    let mut by_twin = Vec::new();
    for twin in &twins {
        let issued = impersonate(&console, Auth::Key(twin), &id).await;
        by_twin.push(issued["user-token"].as_str().expect("token").to_string());
    }
    let first_id = runtime::secret::hash_token(&twins[0])[..16].to_string();
    console
        .ok(
            "DELETE",
            &format!("/console/api/keys/{first_id}"),
            console.cookie(),
            None,
        )
        .await;
    let ended = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_twin[0]))
        .await;
    assert_error(&ended, StatusCode::UNAUTHORIZED, 3064);
    let kept = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_twin[1]))
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);

    // with the admin whose key got it, once disabled
    let other = console
        .ok(
            "POST",
            "/console/api/admins",
            console.cookie(),
            Some(json!({"email": "other@example.com", "password": "password-o"})),
        )
        .await;
    let other_cookie = session_cookie(&console.app, "other@example.com", "password-o").await;
    let other_key = new_key(&console.app, Auth::Cookie(&other_cookie), "twin").await;
    let by_other = impersonate(&console, Auth::Key(&other_key), &id).await;
    let by_other = by_other["user-token"].as_str().expect("token").to_string();
    console
        .ok(
            "PATCH",
            &format!(
                "/console/api/admins/{}",
                other["id"].as_str().expect("an id")
            ),
            console.cookie(),
            Some(json!({"enabled": false})),
        )
        .await;
    let disabled = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_other))
        .await;
    assert_error(&disabled, StatusCode::UNAUTHORIZED, 3064);
    let kept = console
        .runtime("GET", "/api/services/echo/whoami", Some(&by_twin[1]))
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);

    // with the console session that got it; a key's is unaffected
    let from_session = impersonate(&console, console.cookie(), &id).await;
    let from_session = from_session["user-token"]
        .as_str()
        .expect("token")
        .to_string();
    let from_key = impersonate(&console, console.key(), &id).await;
    let from_key = from_key["user-token"].as_str().expect("token").to_string();
    for token in [&from_session, &from_key] {
        let reply = console
            .runtime("GET", "/api/services/echo/whoami", Some(token))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let out = console
        .call("DELETE", "/console/api/session", console.cookie(), None)
        .await;
    assert!(out.status.is_success(), "{}", out.text);
    let ended = console
        .runtime("GET", "/api/services/echo/whoami", Some(&from_session))
        .await;
    assert_error(&ended, StatusCode::UNAUTHORIZED, 3064);
    let kept = console
        .runtime("GET", "/api/services/echo/whoami", Some(&from_key))
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);

    // and like any session of hers, with her disable
    console
        .ok(
            "PATCH",
            &format!("/console/api/users/{id}"),
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    let gone = console
        .runtime("GET", "/api/services/echo/whoami", Some(&from_key))
        .await;
    assert_error(&gone, StatusCode::UNAUTHORIZED, 3064);
}
