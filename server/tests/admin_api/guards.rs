//! Every protected route refuses a missing or foreign admin.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(every_protected_route_refuses_a_missing_or_foreign_admin);

async fn every_protected_route_refuses_a_missing_or_foreign_admin(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales").await;
    console
        .set_cell("calculator", "roles", "Sales", "add", "deny")
        .await;
    let users_before = console.users("").await;
    let roles_before = console.roles().await;
    let permissions_before = console.permissions().await;
    let audit_before = console.audit("").await["total"].clone();

    let routes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/console/api/keys".into(),
            Some(json!({"name": "x"})),
        ),
        ("GET", "/console/api/users".into(), None),
        (
            "GET",
            "/console/api/users?search=a&offset=0&limit=5".into(),
            None,
        ),
        (
            "POST",
            "/console/api/users".into(),
            Some(json!({"email": "eve@example.com", "name": "Eve", "password": "password-e"})),
        ),
        (
            "PATCH",
            format!("/console/api/users/{id}"),
            Some(json!({"name": "Mallory", "userStatus": "DISABLED"})),
        ),
        ("DELETE", format!("/console/api/users/{id}"), None),
        ("PUT", format!("/console/api/users/{id}/roles/Sales"), None),
        (
            "DELETE",
            format!("/console/api/users/{id}/roles/Sales"),
            None,
        ),
        ("GET", "/console/api/roles".into(), None),
        (
            "POST",
            "/console/api/roles".into(),
            Some(json!({"name": "Evil"})),
        ),
        (
            "PATCH",
            "/console/api/roles/Sales".into(),
            Some(json!({"name": "Evil"})),
        ),
        ("DELETE", "/console/api/roles/Sales".into(), None),
        ("GET", "/console/api/services".into(), None),
        (
            "PUT",
            cell_path("calculator", "roles", "NotAuthenticatedUser", "*"),
            Some(json!({"effect": "deny"})),
        ),
        (
            "PUT",
            cell_path("orders", "users", "alice@example.com", "getOrders"),
            Some(json!({"effect": "grant"})),
        ),
        ("GET", "/console/api/permissions".into(), None),
        (
            "PUT",
            "/console/api/permissions".into(),
            Some(json!({"services": {}})),
        ),
        (
            "PUT",
            "/console/api/permissions?dry_run=true".into(),
            Some(json!({"services": {}})),
        ),
        ("GET", "/console/api/audit".into(), None),
        (
            "GET",
            "/console/api/audit?limit=5&service=calculator".into(),
            None,
        ),
    ];
    let long_key = "k".repeat(300);
    // (what, extra headers, status, code)
    let refusals: Vec<(&str, Headers, StatusCode, u32)> = vec![
        ("no cookie, no key", vec![], StatusCode::UNAUTHORIZED, 8100),
        (
            "a bogus key",
            vec![("authorization", "Bearer not-a-real-key".into())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "an empty key",
            vec![("authorization", "Bearer ".into())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "an oversized key",
            vec![("authorization", format!("Bearer {long_key}"))],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "the key without Bearer",
            vec![("authorization", console.key.clone())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "basic credentials",
            vec![(
                "authorization",
                "Basic b3BzQGV4YW1wbGUuY29tOnBhc3N3b3JkLTE=".into(),
            )],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a forged cookie",
            vec![
                ("cookie", "console_session=forged".into()),
                ("origin", SAME_ORIGIN.into()),
            ],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a bogus key next to a live cookie",
            vec![
                ("cookie", console.cookie.clone()),
                ("authorization", "Bearer not-a-real-key".into()),
            ],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a live cookie from another origin",
            vec![
                ("cookie", console.cookie.clone()),
                ("origin", EVIL_ORIGIN.into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
        (
            "a live cookie from a cross-site fetch",
            vec![
                ("cookie", console.cookie.clone()),
                ("sec-fetch-site", "cross-site".into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
        (
            "a live cookie from an opaque origin",
            vec![
                ("cookie", console.cookie.clone()),
                ("origin", "null".into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
    ];
    for (method, path, body) in &routes {
        for (what, headers, status, code) in &refusals {
            let mut builder = request(method, path);
            for (name, value) in headers {
                builder = builder.header(*name, value.as_str());
            }
            let reply = send(&console.app, with_json(builder, body.as_ref())).await;
            assert_eq!(
                reply.status, *status,
                "{method} {path} with {what}: {}",
                reply.text
            );
            assert_error(&reply, *status, *code);
        }
    }
    // nothing was read or changed by the refused calls
    assert_eq!(console.users("").await, users_before);
    assert_eq!(console.roles().await, roles_before);
    assert_eq!(console.permissions().await, permissions_before);
    assert_eq!(console.audit("").await["total"], audit_before);
    // and every route answers the admin, by cookie and by key
    for auth in [console.cookie(), console.key()] {
        for path in [
            "/console/api/users",
            "/console/api/roles",
            "/console/api/services",
            "/console/api/permissions",
            "/console/api/audit",
        ] {
            console.ok("GET", path, auth, None).await;
        }
    }
}
