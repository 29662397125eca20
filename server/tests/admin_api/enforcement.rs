//! The runtime API enforces a change made through the admin API on the very
//! next call.

use http::StatusCode;
use serde_json::json;

use super::harness::*;

crate::on_every_engine!(
    runtime_enforces_an_admin_change_on_the_next_call,
    runtime_enforces_user_and_role_changes,
    names_of_any_character_survive_a_full_load,
);

/// A full load reads each service's cells as one JSON list the database
/// builds: names holding quotes, backslashes, JSON's own characters and
/// letters beyond ASCII come back as they were stored.
async fn names_of_any_character_survive_a_full_load(engine: &str) {
    let console = Console::start(engine).await;
    let email = r#"o'b"r\ien[1]{x}:,ü@example.com"#;
    let id = console
        .user_in_new_role(email, "Odd", "password-o", "Ops.team_ü-1")
        .await;
    console
        .set_cell("echo", "users", email, "whoami", "deny")
        .await;
    console
        .set_cell("calculator", "roles", "Ops.team_ü-1", "add", "deny")
        .await;
    let snapshot = console.reloaded_snapshot().await;
    let user = snapshot.users.get(&id).expect("the user");
    assert_eq!(user.email, email);
    assert_eq!(user.roles, vec!["Ops.team_ü-1".to_string()]);
    let token = console.user_token(email, "password-o").await;
    let denied = console
        .runtime("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], email);
    let denied = console
        .runtime("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "Ops.team_ü-1");
}

async fn runtime_enforces_an_admin_change_on_the_next_call(engine: &str) {
    let console = Console::start(engine).await;
    let add = "/api/services/calculator/add?a=1&b=2";
    let divide = "/api/services/calculator/divide?a=6&b=3";
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );

    console
        .set_cell("calculator", "roles", "NotAuthenticatedUser", "add", "deny")
        .await;
    let denied = console.runtime("GET", add, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "NotAuthenticatedUser", "scope": "add"})
    );
    // other methods are not touched
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );

    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "add",
            "inherit",
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );

    // All Methods, by cookie this time
    console
        .ok(
            "PUT",
            &cell_path("calculator", "roles", "NotAuthenticatedUser", "*"),
            console.cookie(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    let denied = console.runtime("GET", divide, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["scope"], "*");
    assert_error(
        &console.runtime("GET", add, None).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    // a method's own Grant beats the same subject's All Methods Deny
    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "add",
            "grant",
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );
    assert_error(
        &console.runtime("GET", divide, None).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    // the other services are not touched
    assert_ok(
        &console
            .runtime("GET", "/api/services/echo/whoami", None)
            .await,
    );

    // the import is enforced at once too
    console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(json!({"services": {}})),
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );
}

async fn runtime_enforces_user_and_role_changes(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("dave@example.com", "Dave", "password-d")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let token = console.user_token("dave@example.com", "password-d").await;
    let whoami = "/api/services/echo/whoami";
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // the user's own cell
    console
        .set_cell("echo", "users", "dave@example.com", "whoami", "deny")
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "user", "name": "dave@example.com", "scope": "whoami"})
    );
    // anonymous callers are someone else
    assert_ok(&console.runtime("GET", whoami, None).await);
    console
        .set_cell("echo", "users", "dave@example.com", "whoami", "inherit")
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // AuthenticatedUser: every signed-in caller, not the anonymous one
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "*", "deny")
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "AuthenticatedUser", "scope": "*"})
    );
    assert_ok(&console.runtime("GET", whoami, None).await);
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "*", "inherit")
        .await;

    // a custom role: its cells reach the user when assigned, and leave when removed
    console.create_role("Blocked").await;
    console
        .set_cell("echo", "roles", "Blocked", "*", "deny")
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);
    let role_path = format!("/console/api/users/{id}/roles/Blocked");
    console.ok("PUT", &role_path, console.key(), None).await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "Blocked", "scope": "*"})
    );
    // a renamed role keeps denying, under its new name
    console
        .ok(
            "PATCH",
            "/console/api/roles/Blocked",
            console.key(),
            Some(json!({"name": "Quarantine"})),
        )
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "Quarantine");
    console
        .ok(
            "DELETE",
            &format!("/console/api/users/{id}/roles/Quarantine"),
            console.key(),
            None,
        )
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);
    // assigned again, then the role deleted: allowed again
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Quarantine"),
            console.key(),
            None,
        )
        .await;
    assert_error(
        &console.runtime("GET", whoami, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    console
        .ok(
            "DELETE",
            "/console/api/roles/Quarantine",
            console.key(),
            None,
        )
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // disabling the user ends their token at once
    console
        .ok(
            "PATCH",
            &format!("/console/api/users/{id}"),
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    assert_error(
        &console.runtime("GET", whoami, Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
}
